"""A `kill -9` mid-stream: after a restart the user message and the partial reply remain."""

import time

import httpx

from tests.support.builders import signed_in
from tests.support.server import ServerProcess
from tests.support.sse import events

SLOW = {
    "agentId": "slow",
    "stream": True,
    "messages": [{"role": "user", "content": "a long story"}],
}


def test_kill_9_mid_stream_leaves_the_partial_reply_marked_interrupted(chat_env):
    chat_env = {**chat_env, "LLMCHAT_TAKEOVER": "interrupt"}  # today's behaviour, as before
    victim = ServerProcess(chat_env, args=())
    victim.start()
    try:
        with httpx.Client(base_url=victim.base_url, timeout=30) as http:
            _, auth = signed_in(http)
            received = []
            with http.stream("POST", "/api/chat/completions", headers=auth, json=SLOW) as response:
                for frame in events(response):
                    received.append(frame)
                    if len(received) == 3:
                        victim.kill()
                        break
    finally:
        victim.kill()
    session_id, message_id = received[0].data["sessionId"], received[0].data["messageId"]
    partial = "".join(f.data["content"] for f in received)

    restarted = ServerProcess(chat_env, args=())
    restarted.start()
    try:
        with httpx.Client(base_url=restarted.base_url, timeout=30) as http:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                items = http.get(f"/api/chat/sessions/{session_id}/history", headers=auth).json()[
                    "data"
                ]["items"]
                if len(items) == 2 and items[1].get("status") == "interrupted":
                    break
                time.sleep(0.2)
            assert [m["role"] for m in items] == ["user", "assistant"]
            assert items[0]["content"] == "a long story"
            assert items[1]["status"] == "interrupted"
            assert items[1]["content"].startswith(partial) and items[1]["content"]
            headers = {**auth, "Last-Event-ID": str(received[-1].id)}
            with http.stream("GET", f"/api/chat/streams/{message_id}", headers=headers) as response:
                rest = list(events(response))
            assert rest[-1].event == "end" and rest[-1].data["finishReason"] == "interrupted"
    finally:
        restarted.stop()
