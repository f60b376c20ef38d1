"""PATCH /api/admin/users/{userId} over two API instances (and a worker) on one database: a
change made through one holds on the other at once."""

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, connect_ws
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.builders import PASSWORD, login, register, unique_email
from tests.support.server import ServerProcess

ADMIN = {"email": "users-admin@example.com", "password": "users-admin-pass"}
USERS = "/api/admin/users"


@pytest.fixture(scope="module")
def instances(chat_env, make_database) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        **chat_env,
        "LLMCHAT_DATABASE_URL": make_database("users"),
        "LLMCHAT_ADMIN_EMAIL": ADMIN["email"],
        "LLMCHAT_ADMIN_PASSWORD": ADMIN["password"],
    }
    first, second = ServerProcess(env, args=()), ServerProcess(env)
    first.start()
    second.start()
    yield first, second
    second.stop()
    first.stop()


@pytest.fixture(scope="module")
def clients(instances) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    first, second = instances
    with (
        httpx.Client(base_url=first.base_url, timeout=30) as a,
        httpx.Client(base_url=second.base_url, timeout=30) as b,
    ):
        yield a, b


@pytest.fixture(scope="module")
def admin(clients) -> dict[str, str]:
    token = login(clients[0], ADMIN["email"], ADMIN["password"])["token"]
    return {"Authorization": f"Bearer {token}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def someone(http: httpx.Client) -> tuple[dict[str, Any], str]:
    email = unique_email("administered")
    return register(http, email), email


def patch(http: httpx.Client, headers: dict[str, str], user_id: str, body: Any) -> httpx.Response:
    return http.patch(f"{USERS}/{user_id}", headers=headers, json=body)


def test_the_only_administrator_can_be_neither_demoted_nor_deactivated(clients, admin):
    # First in this module: no other administrator exists yet.
    a, b = clients
    me = login(a, ADMIN["email"], ADMIN["password"])["user"]
    for body in ({"role": "enterprise"}, {"status": "deactivated"}):
        refused = patch(b, admin, me["id"], body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "CONFLICT"
    assert a.get("/api/admin/stats", headers=admin).status_code == 200


def test_the_list_filters_by_role_status_and_part_of_the_address(clients, admin):
    a, b = clients
    marker = unique_email("Listed").split("@")[0]
    ids = [register(a, f"{marker}-{n}@example.com")["id"] for n in range(3)]
    patch(a, admin, ids[1], {"role": "enterprise"})
    patch(b, admin, ids[2], {"status": "deactivated"})

    def listed(**params: str) -> list[dict[str, Any]]:
        answer = a.get(USERS, headers=admin, params={"email": marker.upper(), **params})
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["data"]["items"]
        return items

    def projected() -> bool:
        return [u["status"] for u in listed(status="deactivated")] == ["deactivated"]

    deadline = time.monotonic() + 10
    while not projected():
        assert time.monotonic() < deadline, "the users read model did not catch up"
        time.sleep(0.1)
    everyone = listed()
    assert [u["id"] for u in everyone] == ids[::-1]  # newest first
    assert set(everyone[0]) == {"id", "email", "name", "role", "status", "createdAt"}
    assert [u["id"] for u in listed(role="enterprise")] == [ids[1]]
    assert [u["id"] for u in listed(status="deactivated")] == [ids[2]]
    assert [u["id"] for u in listed(role="user", status="active")] == [ids[0]]
    paged = a.get(USERS, headers=admin, params={"email": marker, "limit": 2, "page": 2})
    assert paged.json()["data"]["pagination"] == {
        "page": 2,
        "limit": 2,
        "total": 3,
        "totalPages": 2,
    }
    assert [u["id"] for u in paged.json()["data"]["items"]] == [ids[0]]
    for bad in ({"role": "root"}, {"status": "gone"}, {"limit": "0"}, {"page": "x"}):
        answer = a.get(USERS, headers=admin, params=bad)
        assert answer.status_code == 400, (bad, answer.text)
    token = login(a, f"{marker}-0@example.com")["token"]
    assert a.get(USERS, headers=bearer(token)).status_code == 403


def test_a_user_or_an_anonymous_caller_cannot_change_users(clients):
    a, _ = clients
    user, email = someone(a)
    token = login(a, email)["token"]
    refused = patch(a, bearer(token), user["id"], {"role": "admin"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "FORBIDDEN"
    assert patch(a, {}, user["id"], {"role": "admin"}).status_code == 401
    assert login(a, email)["user"]["role"] == "user"


def test_unknown_users_fields_and_values_are_refused_with_the_envelope(clients, admin):
    a, _ = clients
    user, _ = someone(a)
    missing = patch(a, admin, "22222222-2222-4222-8222-222222222222", {"role": "user"})
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    for body in (
        {"role": "root"},
        {"status": "paused"},
        {"role": "user", "colour": "red"},
        {"role": None},
        {},
        [],
        {"status": 1},
    ):
        answer = patch(a, admin, user["id"], body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["code"] != "SUCCESS"
        assert answer.json()["code"] == "VALIDATION_ERROR"
    assert patch(a, admin, "not-a-uuid", {"role": "user"}).status_code == 400


ROLES, STATUSES = ("user", "enterprise", "admin"), ("active", "deactivated")
VALUES = st.one_of(
    st.sampled_from(ROLES + STATUSES),
    st.text(max_size=12),
    st.none(),
    st.integers(),
    st.booleans(),
    st.lists(st.sampled_from(ROLES), max_size=2),
)
BODIES = st.dictionaries(
    st.sampled_from(["role", "status", "email", "name", "Role", ""]) | st.text(max_size=8),
    VALUES,
    max_size=3,
)


def valid(body: dict[str, Any]) -> bool:
    if not body or set(body) - {"role", "status"}:
        return False
    return body.get("role", "user") in ROLES and body.get("status", "active") in STATUSES


@pytest.fixture(scope="module")
def fuzzed(clients) -> dict[str, Any]:
    return someone(clients[0])[0]


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(body=BODIES)
def test_any_body_is_applied_exactly_when_it_is_valid(clients, admin, fuzzed, body):
    a, b = clients
    before = patch(b, admin, fuzzed["id"], {"status": "active"}).json()["data"]
    answer = patch(a, admin, fuzzed["id"], body)
    if valid(body):
        assert answer.status_code == 200, (body, answer.text)
        expected = {**before, **body}
        assert answer.json()["data"] == expected
    else:
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["code"] == "VALIDATION_ERROR"
        after = patch(b, admin, fuzzed["id"], {"status": before["status"]}).json()["data"]
        assert after == before


def test_concurrent_changes_through_both_instances_all_land_and_agree(clients, admin):
    a, b = clients
    user, email = someone(a)
    changes = [{"role": ROLES[i % 3]} for i in range(12)]

    def send(i: int) -> httpx.Response:
        return patch((a, b)[i % 2], admin, user["id"], changes[i])

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(len(changes))))
    assert [r.status_code for r in answers] == [200] * len(changes), [r.text for r in answers]
    for answer, sent in zip(answers, changes, strict=True):
        assert answer.json()["data"]["role"] == sent["role"]
    final = patch(b, admin, user["id"], {"status": "active"}).json()["data"]["role"]
    assert login(a, email)["user"]["role"] == final


def test_deactivation_on_one_instance_ends_sign_ins_and_keys_on_the_other_at_once(clients, admin):
    a, b = clients
    user, email = someone(a)
    assert patch(a, admin, user["id"], {"role": "admin"}).status_code == 200
    time.sleep(1.1)  # tokens carry whole seconds: they come in a second of their own
    pair = login(a, email)
    created = a.post("/api/admin/api-keys", headers=bearer(pair["token"]), json={"name": "svc"})
    key = created.json()["data"]["key"]
    assert a.get("/api/agents", headers=bearer(key)).status_code == 200
    time.sleep(1.1)

    deactivated = patch(b, admin, user["id"], {"status": "deactivated"})
    assert deactivated.json()["data"]["status"] == "deactivated"

    assert a.get("/api/agents", headers=bearer(pair["token"])).status_code == 401
    assert a.get("/api/agents", headers=bearer(key)).status_code == 401
    refreshed = a.post("/api/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    assert refreshed.status_code == 401
    refused = a.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403
    assert "deactivated" in refused.json()["message"].lower()

    assert patch(b, admin, user["id"], {"status": "active"}).status_code == 200
    again = login(a, email)
    assert a.get("/api/admin/stats", headers=bearer(again["token"])).status_code == 200
    # What the deactivation ended stays ended.
    assert a.get("/api/agents", headers=bearer(pair["token"])).status_code == 401
    assert a.get("/api/agents", headers=bearer(key)).status_code == 401
    stale = a.post("/api/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    assert stale.status_code == 401


def test_a_demoted_admin_loses_the_admin_routes_on_every_instance(clients, admin):
    a, b = clients
    user, email = someone(a)
    patch(a, admin, user["id"], {"role": "admin"})
    token = login(b, email)["token"]
    assert b.get("/api/admin/stats", headers=bearer(token)).status_code == 200
    assert patch(a, admin, user["id"], {"role": "enterprise"}).status_code == 200
    # Within the same second the token lives on, and meets the stored role at the gate.
    assert b.get("/api/admin/stats", headers=bearer(token)).status_code in (401, 403)
    fresh = login(b, email)
    assert fresh["user"]["role"] == "enterprise"
    assert b.get("/api/admin/stats", headers=bearer(fresh["token"])).status_code == 403


def test_an_open_websocket_of_a_deactivated_user_ends_at_its_next_message(
    instances, clients, admin
):
    first, _ = instances
    a, b = clients
    user, email = someone(a)
    token = login(a, email)["token"]
    url = first.base_url.replace("http", "ws") + "/api/ws?token=" + token
    chat = {"type": "chat", "agentId": "openai", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client() as http, connect_ws(url, http) as ws:
        ws.send_text(json.dumps({**chat, "requestId": "before"}))
        while json.loads(ws.receive_text())["type"] not in ("end", "error"):
            pass
        assert patch(b, admin, user["id"], {"status": "deactivated"}).status_code == 200
        time.sleep(0.2)  # the other instance hears of it on its notice, within moments
        ws.send_text(json.dumps({**chat, "requestId": "after"}))
        refused = json.loads(ws.receive_text())
        assert (refused["type"], refused["code"], refused["requestId"]) == (
            "error",
            "UNAUTHORIZED",
            "after",
        )
        with pytest.raises(WebSocketDisconnect):
            ws.receive_text()
