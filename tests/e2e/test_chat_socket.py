"""The WebSocket API: chat, cancel and resume, several chats on one socket."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketSession, connect_ws

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fake_provider import REPLY_TEXT
from tests.support.builders import login, signed_in
from tests.support.event_log import stored_events
from tests.support.server import ServerProcess, running


def token_of(base_url):
    with httpx.Client(base_url=base_url) as http:
        data, _ = signed_in(http)
    return data["token"]


def collect(ws: WebSocketSession, request_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Messages per requestId until each has ended."""
    open_ids = set(request_ids)
    got: dict[str, list[dict[str, Any]]] = {r: [] for r in request_ids}
    while open_ids:
        message = json.loads(ws.receive_text())
        got[message["requestId"]].append(message)
        if message["type"] in ("end", "error"):
            open_ids.discard(message["requestId"])
    return got


def test_two_chats_at_once_on_one_socket(chat_server):
    url = (
        chat_server.base_url.replace("http", "ws")
        + "/api/ws?token="
        + token_of(chat_server.base_url)
    )
    with httpx.Client() as http, connect_ws(url, http) as ws:
        for request_id, agent in (("a", "openai"), ("b", "anthropic")):
            ws.send_text(
                json.dumps(
                    {
                        "type": "chat",
                        "requestId": request_id,
                        "agentId": agent,
                        "messages": [{"role": "user", "content": "hi"}],
                    }
                )
            )
        got = collect(ws, ["a", "b"])
    for request_id in ("a", "b"):
        messages = got[request_id]
        assert messages[-1]["type"] == "end" and messages[-1]["finishReason"] == "stop"
        chunks = [m for m in messages if m["type"] == "chunk"]
        assert "".join(m["content"] for m in chunks) == REPLY_TEXT
        assert all({"id", "messageId", "sessionId", "content"} <= set(m) for m in chunks)
    assert got["a"][0]["messageId"] != got["b"][0]["messageId"]


def test_cancel_and_resume_over_the_socket(chat_server):
    token = token_of(chat_server.base_url)
    url = chat_server.base_url.replace("http", "ws") + "/api/ws"
    with httpx.Client() as http, connect_ws(url, http) as ws:
        ws.send_text(json.dumps({"type": "auth", "token": token}))
        ws.send_text(
            json.dumps(
                {
                    "type": "chat",
                    "requestId": "c",
                    "agentId": "slow",
                    "messages": [{"role": "user", "content": "long"}],
                }
            )
        )
        first = json.loads(ws.receive_text())
        assert first["type"] == "chunk"
        ws.send_text(
            json.dumps({"type": "cancel", "requestId": "x", "messageId": first["messageId"]})
        )
        got = collect(ws, ["c", "x"])
        assert got["c"][-1]["finishReason"] == "cancelled"
        ws.send_text(
            json.dumps(
                {
                    "type": "resume",
                    "requestId": "r",
                    "messageId": first["messageId"],
                    "lastEventId": first["id"],
                }
            )
        )
        resumed = collect(ws, ["r"])["r"]
        # From the last frame of a finished reply: the socket says the client holds it all.
        ws.send_text(
            json.dumps(
                {
                    "type": "resume",
                    "requestId": "z",
                    "messageId": first["messageId"],
                    "lastEventId": resumed[-1]["id"],
                }
            )
        )
        complete = json.loads(ws.receive_text())
    assert complete == {
        "type": "complete",
        "messageId": first["messageId"],
        "lastEventId": resumed[-1]["id"],
        "requestId": "z",
    }
    seen = [first, *[m for m in got["c"] if m["type"] == "chunk"]]
    replayed = [m for m in resumed if m["type"] == "chunk"]
    assert [m["id"] for m in replayed] == [m["id"] for m in seen[1:]]
    assert resumed[-1]["type"] == "end"


def test_a_socket_without_a_token_is_refused(chat_server):
    url = chat_server.base_url.replace("http", "ws") + "/api/ws"
    with httpx.Client() as http, connect_ws(url, http) as ws:
        ws.send_text(json.dumps({"type": "chat"}))
        message = json.loads(ws.receive_text())
    assert message["type"] == "error" and message["code"] == "UNAUTHORIZED"


def test_bad_messages_get_error_messages_and_the_socket_stays_open(chat_server):
    url = (
        chat_server.base_url.replace("http", "ws")
        + "/api/ws?token="
        + token_of(chat_server.base_url)
    )
    with httpx.Client() as http, connect_ws(url, http) as ws:
        ws.send_text("not json")
        assert json.loads(ws.receive_text())["code"] == "VALIDATION_ERROR"
        ws.send_text(
            json.dumps(
                {
                    "type": "chat",
                    "requestId": "q",
                    "agentId": "nope",
                    "messages": [{"role": "user", "content": "hi"}],
                }
            )
        )
        refused = json.loads(ws.receive_text())
        assert refused["code"] == "NOT_FOUND" and refused["requestId"] == "q"
        ws.send_text(json.dumps({"type": "dance"}))
        assert json.loads(ws.receive_text())["code"] == "VALIDATION_ERROR"


def test_an_api_key_opens_the_socket_as_it_opens_http(server, http):
    admin = {"Authorization": "Bearer " + login(http, ADMIN_EMAIL, ADMIN_PASSWORD)["token"]}
    created = http.post("/api/admin/api-keys", headers=admin, json={"name": "ws", "role": "user"})
    assert created.status_code == 200, created.text
    key, key_id = created.json()["data"]["key"], created.json()["data"]["id"]
    chat = {"type": "chat", "agentId": "gpt", "messages": [{"role": "user", "content": "hi"}]}
    ws_url = server.base_url.replace("http", "ws") + "/api/ws"

    for url, headers, first in (
        (f"{ws_url}?token={key}", {}, None),
        (ws_url, {"Authorization": f"Bearer {key}"}, None),
        (ws_url, {}, {"type": "auth", "token": key}),
    ):
        with httpx.Client(headers=headers) as client, connect_ws(url, client) as ws:
            if first is not None:
                ws.send_text(json.dumps(first))
            ws.send_text(json.dumps({**chat, "requestId": "k"}))
            messages = collect(ws, ["k"])["k"]
        assert messages[-1]["type"] == "end", messages
        assert "".join(m["content"] for m in messages if m["type"] == "chunk") == REPLY_TEXT

    assert http.delete(f"/api/admin/api-keys/{key_id}", headers=admin).status_code == 200
    with httpx.Client() as client, connect_ws(f"{ws_url}?token={key}", client) as ws:
        refused = json.loads(ws.receive_text())
    assert refused["type"] == "error" and refused["code"] == "UNAUTHORIZED"


@pytest.fixture(scope="module")
def limited_server(server_env, redis_namespace) -> Iterator[ServerProcess]:
    # Budgets of its own (a fresh namespace), and a small one per user.
    env = {
        **server_env,
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}:ws-limits-{uuid.uuid4().hex[:6]}",
        "LLMCHAT_RATE_LIMIT_USER": "20",
    }
    with running(env) as process:
        yield process


def test_messages_over_one_socket_spend_the_callers_http_budget(limited_server, server_env):
    with httpx.Client(base_url=limited_server.base_url, timeout=30) as http:
        user, auth = signed_in(http)
        probe = http.get("/api/agents?limit=1", headers=auth)
        remaining = int(probe.headers["x-ratelimit-remaining"])
        sent = remaining + 10
        url = limited_server.base_url.replace("http", "ws") + "/api/ws?token=" + user["token"]
        with httpx.Client() as client, connect_ws(url, client) as ws:
            for i in range(sent):
                cancel = {"type": "cancel", "requestId": str(i), "messageId": str(uuid.uuid4())}
                ws.send_text(json.dumps(cancel))
            answers = [json.loads(ws.receive_text()) for _ in range(sent)]
        after = http.get("/api/agents?limit=1", headers=auth)

    refused = [a for a in answers if a.get("code") == "RATE_LIMITED"]
    assert sorted(int(a["requestId"]) for a in refused) == list(range(remaining, sent))
    assert all(a["type"] == "error" and 1 <= a["retryAfter"] <= 60 for a in refused)
    assert all(a.get("code") != "RATE_LIMITED" for a in answers if int(a["requestId"]) < remaining)
    assert after.status_code == 429  # one budget for both doors
    # Recorded once for the window, as on HTTP, naming the socket.
    key = f"user:{user['user']['id']}"
    mine = [e for e in stored_events(server_env["LLMCHAT_DATABASE_URL"], "RateLimited")]
    mine = [e for e in mine if e["key"] == key]
    assert [(e["method"], e["path"], e["limit"]) for e in mine] == [("WEBSOCKET", "/api/ws", 20)]
