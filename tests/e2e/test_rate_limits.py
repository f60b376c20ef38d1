"""Rate limits over HTTP: one budget per user across processes, per address when anonymous."""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.builders import signed_in
from tests.support.event_log import stored_events
from tests.support.server import ServerProcess
from tests.support.tcp_proxy import TcpProxy


def started(env):
    process = ServerProcess(env)
    process.start()
    return process


@pytest.fixture(scope="module")
def two_servers(server_env, redis_namespace):
    # Budgets of their own (a fresh namespace), so other tests' requests do not count.
    env = {
        **server_env,
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}:limits-{uuid.uuid4().hex[:6]}",
        "LLMCHAT_RATE_LIMIT_USER": "2000",
        "LLMCHAT_TRUSTED_PROXIES": "127.0.0.1/32",
        "LLMCHAT_DB_POOL_SIZE": "4",
    }
    processes = [started(env), started(env)]
    yield processes
    for process in processes:
        process.stop()


def burst(base_urls, count, headers, path="/api/agents?limit=1", workers=16):
    local = threading.local()

    def one(i):
        if not hasattr(local, "clients"):
            local.clients = [httpx.Client(base_url=u, timeout=30) for u in base_urls]
        return local.clients[i % len(base_urls)].get(path, headers=headers)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(count)))


def test_2200_requests_across_two_processes_get_429_after_the_2000th_in_total(
    two_servers, server_env
):
    with httpx.Client(base_url=two_servers[0].base_url, timeout=30) as http:
        login, auth = signed_in(http)
    started_at = time.monotonic()
    answers = burst([s.base_url for s in two_servers], 2200, auth)
    elapsed = time.monotonic() - started_at
    assert elapsed < 50, "the burst must fit in one window for the count to be exact"

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 2000, 429: 200}, statuses
    for process_answers in (answers[0::2], answers[1::2]):  # each process refused some
        assert any(a.status_code == 429 for a in process_answers)
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.json()["code"] == "RATE_LIMITED" for a in refused)
    assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in refused)
    assert all(a.headers["x-ratelimit-limit"] == "2000" for a in answers)
    assert all(a.headers["x-ratelimit-remaining"] == "0" for a in refused)
    remaining = sorted(int(a.headers["x-ratelimit-remaining"]) for a in answers)
    assert remaining[-1] == 1999 and remaining.count(0) == 201
    assert all(0 < int(a.headers["x-ratelimit-reset"]) <= 60 for a in answers)

    # Aggregated in the audit trail: one event for the whole refused window, not 200.
    user_key = f"user:{login['user']['id']}"
    events = [e for e in stored_events(server_env["LLMCHAT_DATABASE_URL"], "RateLimited")]
    mine = [e for e in events if e["key"] == user_key]
    assert len(mine) == 1
    assert mine[0]["limit"] == 2000 and mine[0]["user_id"] == login["user"]["id"]


def test_anonymous_callers_are_limited_per_address_and_health_is_exempt(two_servers):
    first, second = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "198.51.100.8"}
    answers = burst([two_servers[0].base_url], 1001, first, path="/api/agents")
    assert Counter(a.status_code for a in answers) == {401: 1000, 429: 1}
    assert answers[0].headers["x-ratelimit-limit"] == "1000"
    with httpx.Client(base_url=two_servers[1].base_url, timeout=30) as http:
        assert http.get("/api/agents", headers=first).status_code == 429  # shared by both
        other = http.get("/api/agents", headers=second)
        assert other.status_code == 401 and other.headers["x-ratelimit-remaining"] == "999"
        health = http.get("/health", headers=first)
        assert health.status_code == 200 and "x-ratelimit-limit" not in health.headers


def test_with_redis_down_each_process_keeps_limiting_on_its_own(server_env, redis_namespace):
    redis_proxy = TcpProxy("127.0.0.1", 6379)
    env = {
        **server_env,
        "LLMCHAT_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}:down-{uuid.uuid4().hex[:6]}",
        "LLMCHAT_RATE_LIMIT_ANONYMOUS": "5",
        "LLMCHAT_DB_POOL_SIZE": "4",
    }
    process = started(env)
    try:
        with httpx.Client(base_url=process.base_url, timeout=30) as http:
            assert http.get("/api/agents").headers["x-ratelimit-remaining"] == "4"
            redis_proxy.cut()
            answers = [http.get("/api/agents") for _ in range(6)]
            assert [a.status_code for a in answers] == [401] * 5 + [429]
            assert answers[0].headers["x-ratelimit-remaining"] == "4"  # a fresh local window
            assert "Redis unavailable" in process.log()
    finally:
        process.stop()
        redis_proxy.close()
