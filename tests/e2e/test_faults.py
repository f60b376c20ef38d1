"""Outages under traffic: the database or Redis goes away and comes back.

The servers reach PostgreSQL and Redis through a proxy the test can cut, which is an outage
as the server sees it, without stopping the services other tests use.
"""

import threading
import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.support.server import ServerProcess
from tests.support.sse import events
from tests.support.tcp_proxy import TcpProxy

PASSWORD = "fault-password-1"


def proxied(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}").geturl()


def wait_healthy(http: httpx.Client, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if http.get("/health", timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


@pytest.fixture
def database_behind_proxy(chat_env):
    url = urlsplit(chat_env["LLMCHAT_DATABASE_URL"])
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    yield proxy
    proxy.close()


def test_a_database_outage_gives_503s_then_recovers_and_loses_nothing_acknowledged(
    chat_env, database_behind_proxy
):
    proxy = database_behind_proxy
    env = {**chat_env, "LLMCHAT_DATABASE_URL": proxied(chat_env["LLMCHAT_DATABASE_URL"], proxy)}
    server = ServerProcess(env, args=())
    server.start()
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            while not stop.is_set():
                email = f"fault-{uuid.uuid4().hex[:10]}@example.com"
                body = {"email": email, "password": PASSWORD, "name": "F"}
                try:
                    response = http.post("/api/auth/register", json=body)
                except httpx.HTTPError:
                    continue
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged.append(email)
                else:
                    assert response.status_code == 503, response.text
                    assert response.json()["code"] == "SERVICE_UNAVAILABLE"

    worker = threading.Thread(target=traffic)
    try:
        worker.start()
        time.sleep(1.0)
        proxy.cut()
        time.sleep(4.0)
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            down = http.get("/health")
            assert down.status_code == 503 and down.json()["status"] == "unhealthy"
        proxy.restore()
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            assert wait_healthy(http, 30), "the server recovers by itself"
            time.sleep(1.0)
            stop.set()
            worker.join(30)
            assert 503 in statuses, "requests during the outage were refused with 503"
            assert statuses.count(200) > 2
            for email in acknowledged:
                login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
                assert login.status_code == 200, f"{email} was acknowledged, then lost"
    finally:
        stop.set()
        proxy.restore()
        server.stop()


@pytest.fixture
def redis_behind_proxy():
    parts = urlsplit(REDIS_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    yield proxy
    proxy.close()


def test_with_redis_gone_streams_complete_are_durable_and_resume_elsewhere(
    chat_env, redis_behind_proxy
):
    proxy = redis_behind_proxy
    redis_url = f"redis://127.0.0.1:{proxy.port}/0"
    env = {**chat_env, "LLMCHAT_REDIS_URL": redis_url}
    first, second = ServerProcess(env, args=()), ServerProcess(env)
    first.start()
    second.start()
    try:
        with httpx.Client(base_url=first.base_url, timeout=30) as http:
            email = f"redis-{uuid.uuid4().hex[:8]}@example.com"
            http.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "R"}
            )
            token = http.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            ).json()["data"]["token"]
            auth = {"Authorization": f"Bearer {token}"}
            proxy.cut()
            body = {
                "agentId": "slow",
                "stream": True,
                "messages": [{"role": "user", "content": "go"}],
            }
            received = []
            with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as response:
                assert response.status_code == 200
                for frame in events(response):
                    received.append(frame)
                    if len(received) == 3:
                        break
        message_id = received[0].data["messageId"]
        # Resume on the other instance: no Redis signal reaches it, so it follows the store.
        with (
            httpx.Client(base_url=second.base_url, timeout=30) as other,
            other.stream(
                "GET",
                f"/api/chat/streams/{message_id}",
                headers={**auth, "Last-Event-ID": str(received[-1].id)},
            ) as response,
        ):
            rest = list(events(response))
        assert rest[-1].event == "end" and rest[-1].data["finishReason"] == "stop"
        frames = received + rest
        assert [f.id for f in frames] == sorted({f.id for f in frames})
        with httpx.Client(base_url=first.base_url, timeout=30) as http:
            health = http.get("/health").json()
            assert health["status"] == "degraded" and health["services"]["redis"] == "disconnected"
            blocking = {**body, "stream": False}
            done = http.post("/api/chat/completions", headers=auth, json=blocking)
            assert done.status_code == 200, "chat works without Redis"
    finally:
        proxy.restore()
        first.stop()
        second.stop()
