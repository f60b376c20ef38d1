"""Stopping a server: running replies may finish; those that cannot are interrupted, not lost."""

import signal
import time

import httpx

from tests.support.builders import signed_in
from tests.support.server import ServerProcess
from tests.support.sse import events


def start_stream(server, agent):
    http = httpx.Client(base_url=server.base_url, timeout=30)
    _, auth = signed_in(http)
    body = {"agentId": agent, "stream": True, "messages": [{"role": "user", "content": "go"}]}
    with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as response:
        first = next(events(response))
    return http, auth, first


def stored_history(base_url, auth, session_id):
    with httpx.Client(base_url=base_url, timeout=30) as http:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = http.get(f"/api/chat/sessions/{session_id}/history", headers=auth).json()[
                "data"
            ]["items"]
            if len(items) == 2 and items[1]["status"] != "streaming":
                return items
            time.sleep(0.2)
    raise AssertionError("the reply never settled")


def test_a_reply_running_at_shutdown_finishes_within_the_grace_period(chat_env):
    server = ServerProcess({**chat_env, "LLMCHAT_SHUTDOWN_GRACE_SECONDS": "10"}, args=())
    server.start()
    http, auth, first = start_stream(server, "slow")  # about 2 s of chunks left
    http.close()
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(30)
    after = ServerProcess(chat_env, args=())
    after.start()
    try:
        items = stored_history(after.base_url, auth, first.data["sessionId"])
        assert items[1]["status"] == "completed"
    finally:
        after.stop()


def test_a_reply_that_cannot_finish_is_interrupted_at_shutdown_and_its_stream_ends(chat_env):
    server = ServerProcess({**chat_env, "LLMCHAT_SHUTDOWN_GRACE_SECONDS": "1"}, args=())
    server.start()
    http, auth, first = start_stream(server, "stalled")
    http.close()
    assert server.process is not None
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(30)
    assert time.monotonic() - started < 15, "the grace period bounds the shutdown"
    after = ServerProcess(chat_env, args=())
    after.start()
    try:
        items = stored_history(after.base_url, auth, first.data["sessionId"])
        assert items[1]["status"] == "interrupted"
        with (
            httpx.Client(base_url=after.base_url, timeout=30) as other,
            other.stream(
                "GET",
                f"/api/chat/streams/{first.data['messageId']}",
                headers={**auth, "Last-Event-ID": "0"},
            ) as response,
        ):
            frames = list(events(response))
        assert frames[-1].event == "end" and frames[-1].data["finishReason"] == "interrupted"
    finally:
        after.stop()
