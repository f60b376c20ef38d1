"""Health reports real checks, and `unhealthy` with 503 when the database is unreachable."""

import re
import time
from urllib.parse import urlsplit

from litestar.testing import TestClient

from api.app import create_app
from api.start import started
from infrastructure.settings import read_settings
from tests.support.tcp_proxy import TcpProxy


def test_health_shapes(http):
    health = http.get("/health").json()
    assert health["status"] == "healthy"
    assert health["services"] == {"database": "connected", "redis": "connected", "queue": "running"}
    assert health["version"]
    detailed = http.get("/health/detailed").json()
    database = detailed["checks"]["database"]
    assert detailed["status"] == "healthy"
    assert {name: check["status"] for name, check in detailed["checks"].items()} == {
        "database": "healthy",
        "redis": "healthy",
        "queue": "healthy",
        "projections": "healthy",  # none quarantined (tests/e2e/test_poison_events.py)
    }
    assert detailed["checks"]["projections"]["quarantined"] == 0
    assert database["responseTime"] >= 0
    assert set(database["connections"]) == {"active", "idle", "total"}
    memory = detailed["checks"]["redis"]["memory"]
    assert all(re.fullmatch(r"\d+MB", memory[key]) for key in ("used", "total")), memory
    assert set(detailed["checks"]["queue"]["jobs"]) == {"waiting", "active", "completed"}


def recovers(client, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if client.get("/health").status_code == 200:
            return True
        time.sleep(0.5)
    return False


def test_database_outage_makes_health_503_and_requests_503_then_recovers(server_env, monkeypatch):
    url = urlsplit(server_env["LLMCHAT_DATABASE_URL"])
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    proxied = url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}").geturl()
    for key, value in {**server_env, "LLMCHAT_DATABASE_URL": proxied}.items():
        monkeypatch.setenv(key, value)
    app = create_app(started(read_settings()))
    wrong = {"email": "nobody@example.com", "password": "whatever1"}
    try:
        with TestClient(app, timeout=30) as client:
            assert client.get("/health").json()["status"] == "healthy"
            proxy.cut()
            down = client.get("/health")
            assert down.status_code == 503 and down.json()["status"] == "unhealthy"
            assert down.json()["services"]["database"] == "disconnected"
            detailed = client.get("/health/detailed").json()
            assert detailed["checks"]["database"]["status"] == "unhealthy"
            login = client.post(
                "/api/auth/login", json={"email": "a@b.io", "password": "whatever1"}
            )
            assert login.status_code == 503 and login.json()["code"] == "SERVICE_UNAVAILABLE"
            proxy.restore()
            assert recovers(client, within=20)
            assert client.post("/api/auth/login", json=wrong).status_code == 401
    finally:
        proxy.close()
