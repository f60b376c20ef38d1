"""Chat over HTTP through every provider: blocking and streamed, stored as received."""

import time
import uuid
from typing import Any

import pytest

from tests.e2e.chat_fixtures import PROVIDERS
from tests.fake_provider import REPLY_TEXT
from tests.support.sse import events


def ask(content: str = "你好, who are you?", **body):
    return {"messages": [{"role": "user", "content": content}], **body}


def history(client, auth, session_id, count=1, timeout=10.0):
    """The session's history once the read model shows `count` messages, none streaming."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/chat/sessions/{session_id}/history", headers=auth)
        assert response.status_code == 200, response.text
        items = response.json()["data"]["items"]
        busy = any(i.get("status") == "streaming" for i in items)
        if (len(items) >= count and not busy) or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def stream(client, auth, body):
    with client.stream(
        "POST", "/api/chat/completions", headers=auth, json={**body, "stream": True}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        return list(events(response))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_chat_through_each_provider_is_stored_as_received(client, auth, provider):
    frames = stream(client, auth, ask(agentId=provider))
    chunks, end = frames[:-1], frames[-1]
    assert chunks and all(f.event == "chunk" and f.data["type"] == "text" for f in chunks)
    assert end.event == "end" and end.data["finishReason"] == "stop"
    ids = [f.id for f in frames]
    assert ids == sorted(set(ids)), "frame ids are unique and increasing"
    received = "".join(f.data["content"] for f in chunks)
    assert received == REPLY_TEXT
    session_id, message_id = end.data["sessionId"], end.data["messageId"]
    assert {f.data["messageId"] for f in chunks} == {message_id}
    stored = history(client, auth, session_id, count=2)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "你好, who are you?"),
        ("assistant", received),
    ]
    assert stored[1]["id"] == message_id and stored[1]["status"] == "completed"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_blocking_chat_through_each_provider_is_stored_as_received(client, auth, provider):
    response = client.post("/api/chat/completions", headers=auth, json=ask(agentId=provider))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["message"] == {"role": "assistant", "content": REPLY_TEXT}
    # The spec's three, and what the usage ledger keeps besides (tests/e2e/test_usage.py).
    assert set(data["usage"]) == {
        "promptTokens",
        "completionTokens",
        "totalTokens",
        "cachedTokens",
        "cacheWriteTokens",
        "reasoningTokens",
        "estimated",
    }
    assert (
        data["usage"]["totalTokens"]
        == data["usage"]["promptTokens"] + data["usage"]["completionTokens"]
    )
    stored = history(client, auth, data["sessionId"], count=2)
    assert stored[-1]["content"] == REPLY_TEXT and stored[-1]["id"] == data["id"]


def test_a_session_carries_its_context_to_the_next_turn(client, auth, fake):
    first = client.post(
        "/api/chat/completions", headers=auth, json=ask("first question", agentId="openai")
    )
    session_id = first.json()["data"]["sessionId"]
    history(client, auth, session_id)
    second = client.post(
        "/api/chat/completions",
        headers=auth,
        json=ask("second question", agentId="openai", sessionId=session_id),
    )
    assert second.status_code == 200, second.text
    sent = fake.last_request("/openai/v1/chat/completions").body["messages"]
    assert [m["content"] for m in sent] == ["first question", REPLY_TEXT, "second question"]
    items = history(client, auth, session_id, count=4)
    assert [m["role"] for m in items] == ["user", "assistant", "user", "assistant"]


def test_the_demo_agent_answers_without_any_provider(client, auth):
    response = client.post("/api/chat/completions", headers=auth, json=ask("ping", agentId="demo"))
    assert response.status_code == 200, response.text
    assert "ping" in response.json()["data"]["message"]["content"]


def test_sessions_list_the_callers_conversations_newest_first(client, auth):
    ids = []
    for n in range(3):
        response = client.post(
            "/api/chat/completions", headers=auth, json=ask(f"topic {n}", agentId="demo")
        )
        ids.append(response.json()["data"]["sessionId"])
        history(client, auth, ids[-1], count=2)
    page = client.get("/api/chat/sessions", headers=auth, params={"limit": 2}).json()["data"]
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2}
    item = page["items"][0]
    assert set(item) == {"id", "title", "agentId", "messageCount", "lastMessageAt", "createdAt"}
    assert item["title"] == "topic 2" and item["messageCount"] == 2


def test_history_pages_back_with_before(client, auth):
    response = client.post("/api/chat/completions", headers=auth, json=ask("one", agentId="demo"))
    session_id = response.json()["data"]["sessionId"]
    for word in ("two", "three"):
        client.post(
            "/api/chat/completions",
            headers=auth,
            json=ask(word, agentId="demo", sessionId=session_id),
        )
    everything = history(client, auth, session_id, count=6)
    assert len(everything) == 6
    latest = client.get(
        f"/api/chat/sessions/{session_id}/history", headers=auth, params={"limit": 2}
    ).json()["data"]
    assert latest["items"][0]["content"] == "three"
    older = client.get(
        f"/api/chat/sessions/{session_id}/history",
        headers=auth,
        params={"limit": 2, "before": latest["items"][0]["id"]},
    ).json()["data"]
    assert older["items"] == everything[2:4]
    for unknown in (str(uuid.uuid4()), "not-an-id"):
        refused = client.get(
            f"/api/chat/sessions/{session_id}/history", headers=auth, params={"before": unknown}
        )
        assert refused.status_code == 400 and refused.json()["code"] == "VALIDATION_ERROR"


def test_save_creates_then_retitles_and_appends(client, auth):
    session_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "sessionId": session_id,
        "title": "Imported",
        "agentId": "demo",
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    }
    assert client.post("/api/chat/sessions/save", headers=auth, json=body).status_code == 200
    body["title"] = "Renamed"
    body["messages"].append({"role": "user", "content": "more"})
    saved = client.post("/api/chat/sessions/save", headers=auth, json=body)
    assert saved.status_code == 200 and saved.json()["data"]["messageCount"] == 3
    items = history(client, auth, session_id, count=3)
    assert [m["content"] for m in items] == ["hi", "hello", "more"]


def test_delete_removes_the_session(client, auth):
    response = client.post("/api/chat/completions", headers=auth, json=ask("bye", agentId="demo"))
    session_id = response.json()["data"]["sessionId"]
    assert client.delete(f"/api/chat/sessions/{session_id}", headers=auth).status_code == 200
    assert client.get(f"/api/chat/sessions/{session_id}/history", headers=auth).status_code == 404
    assert client.delete(f"/api/chat/sessions/{session_id}", headers=auth).status_code == 404
