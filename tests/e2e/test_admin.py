"""GET /api/admin/stats and /api/admin/audit over HTTP, and the read-model commands beside a
running server: rebuild, status, session replay."""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.admin_fixtures import (
    admin_headers,
    client_of,
    eventually,
    projections_current,
    read_models,
    running,
    server_env,
)
from tests.e2e.chat_fixtures import agents_document
from tests.support.builders import PASSWORD, register, signed_in, unique_email
from tests.support.server import run_cli
from tests.support.sse import events


@pytest.fixture(scope="module")
def admin_env(fake_provider, make_database, redis_namespace, tmp_path_factory):
    folder = tmp_path_factory.mktemp("admin")
    return server_env(fake_provider, make_database, redis_namespace, folder, "admin")


@pytest.fixture(scope="module")
def admin_server(admin_env):
    yield from running(admin_env)


@pytest.fixture(scope="module")
def admin_client(admin_server):
    yield from client_of(admin_server)


@pytest.fixture(scope="module")
def admin_auth(admin_client):
    return admin_headers(admin_client)


@pytest.fixture
def settled(admin_env):
    """Read models current with the log, so that figures read now are a baseline."""
    assert eventually(lambda: projections_current(admin_env["LLMCHAT_DATABASE_URL"]))


def chat(client: httpx.Client, auth: dict[str, str], text: str = "hello") -> dict[str, Any]:
    body = {"agentId": "demo", "messages": [{"role": "user", "content": text}]}
    response = client.post("/api/chat/completions", headers=auth, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()["data"]
    return answer


def stats(client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/admin/stats", headers=headers)
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()["data"]
    return figures


def audit(client: httpx.Client, headers: dict[str, str], **query: str | int) -> dict[str, Any]:
    response = client.get("/api/admin/audit", headers=headers, params=query)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()["data"]
    return page


def test_admin_routes_are_for_administrators_only(admin_client):
    _, user = signed_in(admin_client)
    for path in ("/api/admin/stats", "/api/admin/audit"):
        refused = admin_client.get(path, headers=user)
        assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
        anonymous = admin_client.get(path)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHORIZED"


def test_stats_count_users_agents_and_chats(admin_client, admin_auth, settled, fake):
    before = stats(admin_client, admin_auth)
    register(admin_client)  # registered only: new today, not active
    _, auth = signed_in(admin_client)
    chat(admin_client, auth)

    def moved() -> dict[str, Any] | None:
        now = stats(admin_client, admin_auth)
        return now if now["chats"]["total"] == before["chats"]["total"] + 1 else None

    after = eventually(moved)
    assert after is not None, "the stats read model did not follow"
    users, chats = after["users"], after["chats"]
    assert users["total"] == before["users"]["total"] + 2
    assert users["newToday"] == before["users"]["newToday"] + 2
    assert users["active"] == before["users"]["active"] + 1
    assert chats["today"] == before["chats"]["today"] + 1
    assert chats["averageLength"] == 2.0  # every chat here is one question and its answer
    # The agents file of chat_fixtures: eleven agents, "retired" inactive, one category.
    # Every agent of the shared agents file; `retired` is its one inactive agent.
    defined = len(agents_document(fake)["agents"])
    assert after["agents"] == {"total": defined, "active": defined - 1, "categories": ["test"]}
    system = after["system"]
    assert re.fullmatch(r"\d+h \d+m", system["uptime"])
    assert system["environment"] == "staging" and system["version"]


def test_the_audit_trail_records_commands_and_refusals_with_their_origin(admin_client, admin_auth):
    email = unique_email()
    headers = {"X-Request-ID": f"audit-{uuid.uuid4().hex[:8]}", "User-Agent": "audit-test/1"}
    user = admin_client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "name": "A"},
        headers=headers,
    ).json()["data"]["user"]
    admin_client.post("/api/auth/login", json={"email": email, "password": "wrong-password"})
    tokens = admin_client.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}
    ).json()["data"]
    auth = {"Authorization": f"Bearer {tokens['token']}"}
    refreshed = admin_client.post(
        "/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert refreshed.status_code == 200
    # Rotated twice, so the first token is reuse, not a concurrent use within the grace.
    newer = {"refreshToken": refreshed.json()["data"]["refreshToken"]}
    assert admin_client.post("/api/auth/refresh", json=newer).status_code == 200
    reused = admin_client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert reused.status_code == 401
    fresh = admin_client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {fresh.json()['data']['token']}"}
    session = chat(admin_client, auth)["sessionId"]
    # A path no other test here is refused on: refusals are recorded once a minute per
    # (address, path, status).
    assert admin_client.get("/api/admin/api-keys", headers=auth).status_code == 403
    assert admin_client.post("/api/auth/logout", headers=auth).status_code == 200

    expected = {
        "auth.register",
        "auth.login",
        "auth.login_failed",
        "auth.refresh",
        "auth.refresh_reuse",
        "chat.start",
        "chat.send",
        "access.denied",
        "auth.logout",
    }

    def entries() -> list[dict[str, Any]] | None:
        items = audit(admin_client, admin_auth, userId=user["id"], limit=100)["items"]
        return items if expected <= {e["action"] for e in items} else None

    found = eventually(entries)
    if found is None:
        seen = audit(admin_client, admin_auth, userId=user["id"], limit=100)["items"]
        pytest.fail(f"missing: {expected - {e['action'] for e in seen}}")
    assert [e["timestamp"] for e in found] == sorted((e["timestamp"] for e in found), reverse=True)
    registration = next(e for e in found if e["action"] == "auth.register")
    assert registration["userId"] == user["id"] and registration["outcome"] == "success"
    assert registration["requestId"] == headers["X-Request-ID"]
    assert registration["userAgent"] == "audit-test/1" and registration["ip"] == "127.0.0.1"
    failed = next(e for e in found if e["action"] == "auth.login_failed")
    assert failed["outcome"] == "failure" and failed["details"] == "wrong_password"
    denied = next(e for e in found if e["action"] == "access.denied")
    assert (denied["resource"], denied["outcome"]) == ("GET /api/admin/api-keys", "forbidden")
    sent = next(e for e in found if e["action"] == "chat.send")
    assert sent["resource"].startswith(f"chat-sessions/{session}/messages/")
    # Chat events are written by the group-commit task; they still carry the request's origin.
    assert sent["ip"] == "127.0.0.1" and sent["requestId"] and sent["userAgent"]
    for entry in found:
        assert set(entry) >= {"id", "timestamp", "userId", "action", "resource", "outcome"}
        assert set(entry) >= {"ip", "userAgent", "requestId"}


def test_the_audit_trail_filters_by_action_and_dates_and_pages(admin_client, admin_auth):
    register(admin_client)
    eventually(lambda: audit(admin_client, admin_auth, action="auth.register")["items"])
    logins = audit(admin_client, admin_auth, action="auth.register", limit=1)
    assert logins["pagination"]["limit"] == 1 and len(logins["items"]) == 1
    assert logins["pagination"]["total"] >= 1
    assert {
        e["action"] for e in audit(admin_client, admin_auth, action="auth.register")["items"]
    } == {"auth.register"}
    today = datetime.now(UTC).date()
    this_day = audit(admin_client, admin_auth, startDate=str(today), endDate=str(today))
    assert this_day["pagination"]["total"] >= 1
    tomorrow = today + timedelta(days=1)
    assert audit(admin_client, admin_auth, startDate=f"{tomorrow}T00:00:00Z")["items"] == []
    for bad in ({"startDate": "yesterday"}, {"endDate": "2025-02-30"}, {"limit": 0}):
        refused = admin_client.get("/api/admin/audit", headers=admin_auth, params=bad)
        assert refused.status_code == 400 and refused.json()["code"] == "VALIDATION_ERROR"


def test_a_cancelled_reply_and_an_agent_change_are_audited_with_who_did_them(
    admin_client, admin_auth
):
    me, auth = signed_in(admin_client)
    body = {"agentId": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with admin_client.stream("POST", "/api/chat/completions", headers=auth, json=body) as answer:
        message_id = next(events(answer)).data["messageId"]
        cancelled = admin_client.post(f"/api/chat/streams/{message_id}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    changed = admin_client.put(
        "/api/agents/openai", headers=admin_auth, json={"description": f"changed {time.time()}"}
    )
    assert changed.status_code == 200, changed.text

    cancel = eventually(lambda: audit(admin_client, admin_auth, action="chat.cancel")["items"])
    assert cancel and cancel[0]["userId"] == me["user"]["id"]
    assert cancel[0]["resource"].endswith(f"/messages/{message_id}")
    update = eventually(lambda: audit(admin_client, admin_auth, action="agent.update")["items"])
    admin_id = admin_client.get("/api/admin/stats", headers=admin_auth)  # still allowed
    assert admin_id.status_code == 200
    assert update and update[0]["resource"] == "agents/openai"
    assert update[0]["details"] == "description" and update[0]["userId"]


def test_rebuilding_every_read_model_beside_the_running_server_reproduces_them(
    admin_client, admin_auth, admin_env
):
    _, auth = signed_in(admin_client)
    chat(admin_client, auth, "before the rebuild")
    db_url = admin_env["LLMCHAT_DATABASE_URL"]
    assert eventually(lambda: projections_current(db_url))
    live = read_models(db_url)

    rebuilt = run_cli(["projections", "rebuild"], admin_env)

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "audit: rebuilt from" in rebuilt.stderr
    assert read_models(db_url) == live
    status = run_cli(["projections", "status"], admin_env)
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line.split() for line in status.stdout.splitlines()[1:]}
    assert {"conversations", "stats", "audit"} <= lines.keys()
    assert all(columns[3] == "0" for columns in lines.values()), status.stdout  # behind
    scraped = admin_client.get("/metrics", headers=admin_auth).text
    assert 'llmchat_projection_lag_milliseconds{projection="audit"}' in scraped


def test_a_session_replays_as_it_stood_at_a_moment(admin_client, admin_env):
    _, auth = signed_in(admin_client)
    first = chat(admin_client, auth, "first question")
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    body = {
        "agentId": "demo",
        "sessionId": first["sessionId"],
        "messages": [{"role": "user", "content": "second question"}],
    }
    assert admin_client.post("/api/chat/completions", headers=auth, json=body).status_code == 200

    then = run_cli(["sessions", "replay", first["sessionId"], "--at", between], admin_env)
    now = run_cli(["sessions", "replay", first["sessionId"]], admin_env)
    never = run_cli(["sessions", "replay", first["sessionId"], "--at", "2001-01-01"], admin_env)

    assert then.returncode == 0, then.stderr
    assert "user: first question" in then.stdout and "second question" not in then.stdout
    assert "assistant [completed]" in then.stdout
    assert "user: second question" in now.stdout
    assert never.returncode == 1 and "did not exist" in never.stderr
