"""Streams outlive their clients: resume from any instance, cancel, and survive a crash."""

import time

import httpx
import pytest

from tests.fake_provider import REPLY_TEXT
from tests.support.server import ServerProcess
from tests.support.sse import events

SLOW = {
    "agentId": "slow",
    "stream": True,
    "messages": [{"role": "user", "content": "tell me slowly"}],
}


def first_frames(base_url, auth, count):
    """Start a slow stream, read `count` frames, then drop the connection."""
    with (
        httpx.Client(base_url=base_url, timeout=30) as http,
        http.stream("POST", "/api/chat/completions", headers=auth, json=SLOW) as response,
    ):
        assert response.status_code == 200
        received = []
        for frame in events(response):
            received.append(frame)
            if len(received) == count:
                break
    return received


def resume(base_url, auth, message_id, last_id, via_query=False):
    path = f"/api/chat/streams/{message_id}"
    headers = dict(auth)
    params = {}
    if via_query:
        params["lastEventId"] = str(last_id)
    else:
        headers["Last-Event-ID"] = str(last_id)
    with (
        httpx.Client(base_url=base_url, timeout=30) as http,
        http.stream("GET", path, headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, response.read()
        return list(events(response))


@pytest.fixture(scope="module")
def second_server(chat_env):
    process = ServerProcess(chat_env, args=("--no-workers",))
    process.start()
    yield process
    process.stop()


def test_resume_after_a_drop_returns_exactly_the_missing_frames(chat_server, auth):
    before = first_frames(chat_server.base_url, auth, 3)
    message_id = before[0].data["messageId"]
    after = resume(chat_server.base_url, auth, message_id, before[-1].id)
    ids = [f.id for f in before + after]
    assert ids == sorted(set(ids)), "nothing repeated, nothing out of order"
    assert after[-1].event == "end"
    text = "".join(f.data["content"] for f in before + after if f.event == "chunk")
    assert text == REPLY_TEXT


def test_resume_works_on_another_server_process_while_live(chat_server, second_server, auth):
    before = first_frames(chat_server.base_url, auth, 2)
    message_id = before[0].data["messageId"]
    after = resume(second_server.base_url, auth, message_id, before[-1].id, via_query=True)
    text = "".join(f.data["content"] for f in before + after if f.event == "chunk")
    assert text == REPLY_TEXT and after[-1].event == "end"
    assert after[0].id == before[-1].id + 1


def test_resume_after_the_end_is_a_pure_replay(chat_server, auth, client):
    response = client.post(
        "/api/chat/completions", headers=auth, json={**SLOW, "agentId": "openai", "stream": False}
    )
    message_id = response.json()["data"]["id"]
    replay = resume(chat_server.base_url, auth, message_id, 0)
    assert "".join(f.data["content"] for f in replay if f.event == "chunk") == REPLY_TEXT
    assert replay[-1].event == "end" and replay[-1].data["finishReason"] == "stop"
    # Nothing after the end frame: 204, which tells a client (EventSource too) to stop.
    for after in (replay[-1].id, replay[-1].id + 5):
        done = client.get(
            f"/api/chat/streams/{message_id}", headers={**auth, "Last-Event-ID": str(after)}
        )
        assert done.status_code == 204 and done.content == b"", done.text
    # A reply still running at that id is not done: it streams its tail (200), not 204.
    live = first_frames(chat_server.base_url, auth, 1)
    tail = resume(chat_server.base_url, auth, live[0].data["messageId"], live[0].id)
    assert tail[-1].event == "end"


def test_cancel_ends_the_stream_within_a_second(chat_server, second_server, auth, client):
    before = first_frames(chat_server.base_url, auth, 1)
    message_id = before[0].data["messageId"]
    started = time.monotonic()
    # Cancel through the other instance: the request crosses to the one running the reply.
    with httpx.Client(base_url=second_server.base_url, timeout=30) as other:
        response = other.post(f"/api/chat/streams/{message_id}/cancel", headers=auth)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 1.0
    assert response.json()["data"]["finishReason"] == "cancelled"
    rest = resume(chat_server.base_url, auth, message_id, before[-1].id)
    assert rest[-1].event == "end" and rest[-1].data["finishReason"] == "cancelled"
    again = client.post(f"/api/chat/streams/{message_id}/cancel", headers=auth)
    assert again.status_code == 409


def test_a_client_that_disconnects_does_not_stop_the_reply(chat_server, auth):
    before = first_frames(chat_server.base_url, auth, 1)
    message_id = before[0].data["messageId"]
    replay = resume(chat_server.base_url, auth, message_id, 0)
    assert replay[-1].data["finishReason"] == "stop"
    assert "".join(f.data["content"] for f in replay if f.event == "chunk") == REPLY_TEXT


def test_a_provider_that_is_down_answers_503_fast_and_the_server_stays_healthy(client, auth):
    started = time.monotonic()
    body = {"agentId": "down", "messages": [{"role": "user", "content": "hi"}]}
    for stream in (False, True):
        response = client.post(
            "/api/chat/completions", headers=auth, json={**body, "stream": stream}
        )
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "SERVICE_UNAVAILABLE"
        assert "Traceback" not in response.text
    assert time.monotonic() - started < 10
    assert client.get("/health").json()["status"] == "healthy"


def test_a_malformed_provider_answer_is_502(client, auth):
    body = {"agentId": "garbled", "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/api/chat/completions", headers=auth, json=body)
    assert response.status_code == 502 and response.json()["code"] == "BAD_GATEWAY"


def test_a_stream_cut_mid_way_keeps_what_arrived_and_ends_with_an_error_event(client, auth):
    body = {"agentId": "cut", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with client.stream("POST", "/api/chat/completions", headers=auth, json=body) as response:
        frames = list(events(response))
    assert frames[-1].event == "error" and frames[-1].data["type"] == "error"
    assert frames[-1].data["code"] == "SERVICE_UNAVAILABLE"
    partial = "".join(f.data["content"] for f in frames if f.event == "chunk")
    assert partial and REPLY_TEXT.startswith(partial)
