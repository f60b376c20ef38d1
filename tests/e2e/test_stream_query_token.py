"""The stream routes take `?token=` (a browser's EventSource sends no headers), and only they do."""

from typing import Any

import httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fake_provider import REPLY_TEXT
from tests.support.builders import login, signed_in
from tests.support.sse import events

BLOCKING = {
    "agentId": "gpt",
    "stream": False,
    "messages": [{"role": "user", "content": "a reply to resume"}],
}


def finished_reply(client: httpx.Client, auth: dict[str, str]) -> str:
    response = client.post("/api/chat/completions", headers=auth, json=BLOCKING)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["id"])


def replayed(client: httpx.Client, message_id: str, token: str) -> list[Any]:
    path = f"/api/chat/streams/{message_id}"
    with client.stream("GET", path, params={"token": token}) as response:
        assert response.status_code == 200, response.read()
        return list(events(response))


def test_a_stream_resumes_with_the_access_token_in_the_query(http, server):
    client = http
    _, auth = signed_in(client)
    token = auth["Authorization"].removeprefix("Bearer ")
    frames = replayed(client, finished_reply(client, auth), token)
    assert "".join(f.data["content"] for f in frames if f.event == "chunk") == REPLY_TEXT
    assert frames[-1].event == "end"
    assert token not in server.log(), "a query token never reaches a log line"


def test_a_stream_resumes_with_an_api_key_in_the_query(http):
    admin = {"Authorization": "Bearer " + login(http, ADMIN_EMAIL, ADMIN_PASSWORD)["token"]}
    created = http.post("/api/admin/api-keys", headers=admin, json={"name": "browser"})
    assert created.status_code == 200, created.text
    key = created.json()["data"]["key"]
    frames = replayed(http, finished_reply(http, {"Authorization": f"Bearer {key}"}), key)
    assert frames[-1].event == "end"


def test_a_wrong_query_token_is_401(http):
    client = http
    _, auth = signed_in(client)
    message_id = finished_reply(client, auth)
    response = client.get(f"/api/chat/streams/{message_id}", params={"token": "not-a-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_other_routes_ignore_a_query_token(http):
    client = http
    _, auth = signed_in(client)
    token = auth["Authorization"].removeprefix("Bearer ")
    response = client.get("/api/chat/sessions", params={"token": token})
    assert response.status_code == 401
