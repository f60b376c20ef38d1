"""Budgets over real processes: two API instances and a worker on one PostgreSQL and a
Redis of this module's own (so it can be restarted), against the fake provider.

Every chat here asks for at most MAX_TOKENS; the fake provider answers PROMPT_TOKENS of
prompt and 32 of completion, so each reply spends SPENT tokens.
"""

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from httpx_ws import connect_ws

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.admin_fixtures import eventually
from tests.fake_provider import PROMPT_TOKENS
from tests.support.builders import login, signed_in
from tests.support.server import LLMCHAT, ROOT, ServerProcess, free_port, llmchat_env

MAX_TOKENS = 40
SPENT = PROMPT_TOKENS + 32
ASK = [{"role": "user", "content": "hi"}]
CHAT = {"agentId": "openai", "messages": ASK, "config": {"maxTokens": MAX_TOKENS}}


class PrivateRedis:
    """A redis-server without persistence: a restart forgets every key, as a crash does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployment(chat_env, make_database, private_redis, tmp_path_factory):
    prices = tmp_path_factory.mktemp("prices") / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "currency": "USD",
                "prices": {
                    "openai": {
                        "openai-model": [
                            {"from": "2020-01-01", "input": 2, "output": 10, "cachedInput": 1}
                        ]
                    }
                },
            }
        )
    )
    env = {
        **chat_env,
        "LLMCHAT_DATABASE_URL": make_database("budgets"),
        "LLMCHAT_REDIS_URL": private_redis.url,
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LLMCHAT_PRICES_FILE": str(prices),
        "LLMCHAT_DB_POOL_SIZE": "4",
    }
    servers = [ServerProcess(env), ServerProcess(env)]  # --no-workers: the worker projects
    for server in servers:
        server.start()
    worker = subprocess.Popen(
        [*LLMCHAT, "worker"], env=llmchat_env(env), cwd=ROOT, stderr=subprocess.DEVNULL
    )
    yield servers
    worker.terminate()
    worker.wait(10)
    for server in servers:
        server.stop()


@pytest.fixture
def http(deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployment[0].base_url, timeout=30) as client:
        yield client


@pytest.fixture
def admin(http) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}


def put_budget(http: httpx.Client, admin, scope: str, subject: str, **body: Any) -> httpx.Response:
    return http.put(f"/api/admin/budgets/{scope}/{subject}", headers=admin, json=body)


def ledger_tokens(http, admin, user_id: str) -> int:
    rows = http.get("/api/admin/usage", headers=admin, params={"groupBy": "user", "limit": 100})
    found = [r for r in rows.json()["data"]["items"] if r["key"] == user_id]
    return int(found[0]["totalTokens"]) if found else 0


def api_key(http, admin, role: str) -> tuple[str, str]:
    """A new key's id and secret."""
    issued = http.post("/api/admin/api-keys", headers=admin, json={"name": "b", "role": role})
    data = issued.json()["data"]
    return str(data["id"]), str(data["key"])


def test_an_administrator_sets_reads_and_removes_a_budget(http, admin):
    user, _ = signed_in(http)
    user_id = user["user"]["id"]
    answer = put_budget(http, admin, "user", user_id, period="day", tokens=1000)
    assert answer.status_code == 200, answer.text
    view = answer.json()["data"]
    assert view["scope"] == "user" and view["id"] == user_id and view["period"] == "day"
    assert view["tokens"] == 1000 and view["cost"] is None
    assert view["used"] == {"tokens": 0, "cost": 0.0}
    assert view["left"] == {"tokens": 1000, "cost": None}
    assert view["resetsAt"].endswith("T00:00:00.000Z")

    changed = put_budget(http, admin, "user", user_id, period="month", tokens=5, cost=1.25)
    assert changed.json()["data"]["period"] == "month"
    shown = http.get(f"/api/admin/budgets/user/{user_id}", headers=admin).json()["data"]
    assert shown["cost"] == 1.25 and shown["left"]["cost"] == 1.25
    assert shown["periodStart"].endswith("-01")

    removed = http.delete(f"/api/admin/budgets/user/{user_id}", headers=admin)
    assert removed.status_code == 200
    assert http.get(f"/api/admin/budgets/user/{user_id}", headers=admin).status_code == 404
    assert http.delete(f"/api/admin/budgets/user/{user_id}", headers=admin).status_code == 404

    def audited() -> set[str]:
        entries = http.get("/api/admin/audit", headers=admin, params={"limit": 100})
        items = entries.json()["data"]["items"]
        return {e["action"] for e in items if e["resource"] == f"budgets/user/{user_id}"}

    wanted = {"budget.set", "budget.remove"}
    assert eventually(lambda: wanted <= audited(), timeout=20)


@pytest.mark.parametrize(
    ("scope", "subject", "body", "status", "names"),
    [
        ("team", "x", {"period": "day", "tokens": 1}, 400, "scope"),
        ("role", "owner", {"period": "day", "tokens": 1}, 400, "id"),
        ("role", "user", {"period": "week", "tokens": 1}, 400, "period"),
        ("role", "user", {"period": "day"}, 400, "tokens, cost"),
        ("role", "user", {"period": "day", "tokens": -1}, 400, "tokens"),
        ("role", "user", {"period": "day", "cost": -0.5}, 400, "cost"),
        ("role", "user", {"period": "day", "tokens": 1.5}, 400, "tokens"),
        ("role", "user", {"period": "day", "tokens": 1, "cap": 2}, 400, "cap"),
        ("user", "not-a-uuid", {"period": "day", "tokens": 1}, 400, "id"),
        ("user", str(uuid.uuid4()), {"period": "day", "tokens": 1}, 404, "no user"),
        ("apiKey", str(uuid.uuid4()), {"period": "day", "tokens": 1}, 404, "no key"),
    ],
)
def test_a_budget_that_cannot_be_is_refused_saying_why(
    http, admin, scope, subject, body, status, names
):
    answer = put_budget(http, admin, scope, subject, **body)
    assert answer.status_code == status, answer.text
    assert names in json.dumps(answer.json()["error"]["details"])


def test_only_administrators_manage_budgets(http):
    _, user = signed_in(http)
    assert put_budget(http, user, "role", "user", period="day", tokens=1).status_code == 403
    assert http.get("/api/admin/budgets/role/user", headers=user).status_code == 403


def assert_refused(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 429, answer.text
    body = answer.json()
    assert body["code"] == "RATE_LIMITED" and body["error"]["type"] == "BudgetExceeded"
    details = body["error"]["details"]
    assert int(answer.headers["Retry-After"]) == details["retryAfter"] > 0
    assert details["resetsAt"].endswith("T00:00:00.000Z")
    return dict(details)


def test_a_spent_budget_refuses_every_chat_door_before_the_provider_is_asked(
    deployment, http, admin, fake
):
    user, headers = signed_in(http)
    # Room for one worst case (the prompt as estimated, plus maxTokens), not two.
    put_budget(http, admin, "user", user["user"]["id"], period="day", tokens=SPENT + 10)
    assert http.post("/api/chat/completions", headers=headers, json=CHAT).status_code == 200
    asked = fake.request_count("/openai/v1/chat/completions")

    details = assert_refused(http.post("/api/chat/completions", headers=headers, json=CHAT))
    assert details["scope"] == "user" and details["tokens"] == SPENT + 10
    streamed = {**CHAT, "stream": True}
    assert_refused(http.post("/api/chat/completions", headers=headers, json=streamed))

    door = {"model": "openai", "messages": ASK, "max_tokens": MAX_TOKENS}
    refused = http.post("/v1/chat/completions", headers=headers, json=door)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    error = refused.json()["error"]
    assert error["type"] == "insufficient_quota" and error["code"] == "insufficient_quota"

    url = deployment[1].base_url.replace("http", "ws") + "/api/ws?token=" + user["token"]
    with httpx.Client() as client, connect_ws(url, client) as ws:
        ws.send_text(json.dumps({"type": "chat", "requestId": "r", **CHAT}))
        message = json.loads(ws.receive_text())
    assert message["type"] == "error" and message["code"] == "RATE_LIMITED"
    assert message["error"]["type"] == "BudgetExceeded" and message["retryAfter"] > 0
    assert message["requestId"] == "r"

    assert fake.request_count("/openai/v1/chat/completions") == asked
    shown = http.get(f"/api/admin/budgets/user/{user['user']['id']}", headers=admin).json()
    assert shown["data"]["used"]["tokens"] == SPENT
    assert shown["data"]["reserved"]["tokens"] == 0
    assert shown["data"]["left"]["tokens"] == 10


def test_cost_budgets_of_a_key_and_token_budgets_of_a_role(http, admin):
    key_id, key = api_key(http, admin, "user")
    # A reply costs (7 x 2 + 4 x 1 + 32 x 10) / 1e6; its worst case (8 x 2 + 40 x 10) / 1e6.
    set_up = put_budget(http, admin, "apiKey", key_id, period="month", cost=0.0005)
    assert set_up.status_code == 200, set_up.text
    keyed = {"Authorization": f"Bearer {key}"}
    assert http.post("/api/chat/completions", headers=keyed, json=CHAT).status_code == 200
    details = assert_refused(http.post("/api/chat/completions", headers=keyed, json=CHAT))
    assert details["scope"] == "apiKey" and details["period"] == "month"
    shown = http.get(f"/api/admin/budgets/apiKey/{key_id}", headers=admin).json()["data"]
    assert shown["used"]["cost"] == pytest.approx(338e-6)

    enterprise = {"Authorization": f"Bearer {api_key(http, admin, 'enterprise')[1]}"}
    put_budget(http, admin, "role", "enterprise", period="day", tokens=SPENT + 10)
    assert http.post("/api/chat/completions", headers=enterprise, json=CHAT).status_code == 200
    details = assert_refused(http.post("/api/chat/completions", headers=enterprise, json=CHAT))
    assert details["scope"] == "role" and details["id"] == "enterprise"
    http.delete("/api/admin/budgets/role/enterprise", headers=admin)
    assert http.post("/api/chat/completions", headers=enterprise, json=CHAT).status_code == 200


def test_fifty_concurrent_chats_on_two_instances_overspend_by_at_most_one_max_tokens(
    deployment, admin
):
    limit = 10 * SPENT + 5
    with httpx.Client(base_url=deployment[0].base_url, timeout=60) as http:
        user, headers = signed_in(http)
        user_id = user["user"]["id"]
        put_budget(http, admin, "user", user_id, period="day", tokens=limit)
    clients = [httpx.Client(base_url=s.base_url, timeout=60) for s in deployment]

    def chat(n: int) -> int:
        body = {**CHAT, "stream": n % 3 == 0}
        return clients[n % 2].post("/api/chat/completions", headers=headers, json=body).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(chat, range(50)))
    for client in clients:
        client.close()
    answered = statuses.count(200)
    assert set(statuses) <= {200, 429} and statuses.count(429) > 0
    assert answered * SPENT <= limit + MAX_TOKENS
    assert answered >= limit // (SPENT + 10)  # each worst case fits until the limit is near

    with httpx.Client(base_url=deployment[1].base_url, timeout=30) as http:
        # The ledger is the truth: it holds exactly what was answered.
        eventually(lambda: ledger_tokens(http, admin, user_id) == answered * SPENT or None, 30)
        shown = http.get(f"/api/admin/budgets/user/{user_id}", headers=admin).json()["data"]
    assert shown["used"]["tokens"] == answered * SPENT and shown["reserved"]["tokens"] == 0


def test_a_redis_restart_keeps_the_budgets(deployment, http, admin, private_redis):
    user, headers = signed_in(http)
    user_id = user["user"]["id"]
    put_budget(http, admin, "user", user_id, period="day", tokens=2 * SPENT + 10)
    for _ in range(2):
        assert http.post("/api/chat/completions", headers=headers, json=CHAT).status_code == 200
    eventually(lambda: ledger_tokens(http, admin, user_id) == 2 * SPENT or None, 30)

    private_redis.restart()
    time.sleep(0.5)
    with httpx.Client(base_url=deployment[1].base_url, timeout=30) as other:
        # Counters rebuilt from the ledger: the third chat still does not fit.
        assert_refused(other.post("/api/chat/completions", headers=headers, json=CHAT))
        shown = other.get(f"/api/admin/budgets/user/{user_id}", headers=admin).json()["data"]
    assert shown["used"]["tokens"] == 2 * SPENT
    put_budget(http, admin, "user", user_id, period="day", tokens=3 * SPENT + 10)
    assert http.post("/api/chat/completions", headers=headers, json=CHAT).status_code == 200
