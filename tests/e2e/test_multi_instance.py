"""Two API instances and two workers on one PostgreSQL and Redis, as a deployment runs."""

import subprocess
import time
import uuid

import httpx
import psycopg
import pytest

from tests.support.server import LLMCHAT, ROOT, ServerProcess, llmchat_env
from tests.support.sse import events

ADMIN = {"email": "multi-admin@example.com", "password": "multi-admin-pass"}


@pytest.fixture(scope="module")
def deployment(chat_env, make_database):
    env = {
        **chat_env,
        "LLMCHAT_DATABASE_URL": make_database("multi"),
        "LLMCHAT_ADMIN_EMAIL": ADMIN["email"],
        "LLMCHAT_ADMIN_PASSWORD": ADMIN["password"],
    }
    servers = [ServerProcess(env), ServerProcess(env)]  # --no-workers: the workers project
    for server in servers:
        server.start()
    workers = [
        subprocess.Popen(
            [*LLMCHAT, "worker"], env=llmchat_env(env), cwd=ROOT, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    yield servers, env["LLMCHAT_DATABASE_URL"]
    for worker in workers:
        worker.terminate()
        worker.wait(10)
    for server in servers:
        server.stop()


def bearer(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    token = http.post("/api/auth/login", json={"email": email, "password": password}).json()[
        "data"
    ]["token"]
    return {"Authorization": f"Bearer {token}"}


def log_head(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT COALESCE(max(notification_id), 0) FROM llmchat_events"
        ).fetchone()
    return int(row[0]) if row else 0


def stats_applied_up_to(db_url: str, head: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT position FROM llmchat_projection_positions WHERE name = 'stats'"
            ).fetchone()
        if row and row[0] >= head:
            return True
        time.sleep(0.1)
    return False


def test_a_stream_moves_between_instances_and_stats_count_every_chat_once(deployment):
    (first, second), db_url = deployment
    with (
        httpx.Client(base_url=first.base_url, timeout=30) as a,
        httpx.Client(base_url=second.base_url, timeout=30) as b,
    ):
        email = f"multi-{uuid.uuid4().hex[:8]}@example.com"
        a.post(
            "/api/auth/register", json={"email": email, "password": "multi-user-pass", "name": "M"}
        )
        user = bearer(a, email, "multi-user-pass")
        ask = {"agentId": "openai", "messages": [{"role": "user", "content": "hi"}]}
        for n in range(6):
            http = a if n % 2 == 0 else b
            assert http.post("/api/chat/completions", headers=user, json=ask).status_code == 200

        slow = {
            "agentId": "slow",
            "stream": True,
            "messages": [{"role": "user", "content": "long"}],
        }
        received = []
        with a.stream("POST", "/api/chat/completions", headers=user, json=slow) as response:
            for frame in events(response):
                received.append(frame)
                if len(received) == 2:
                    break
        resume = {**user, "Last-Event-ID": str(received[-1].id)}
        with b.stream(
            "GET", f"/api/chat/streams/{received[0].data['messageId']}", headers=resume
        ) as response:
            rest = list(events(response))
        assert rest[-1].event == "end" and rest[0].id == received[-1].id + 1

        admin = bearer(b, ADMIN["email"], ADMIN["password"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            stats = b.get("/api/admin/stats", headers=admin).json()["data"]
            if stats["chats"]["total"] >= 7:
                break
            time.sleep(0.2)
        # Once stats has applied the whole log, both workers have had every chance to count a
        # chat twice: a double count would already show.
        assert stats_applied_up_to(db_url, log_head(db_url), within=30)
        stats = a.get("/api/admin/stats", headers=admin).json()["data"]
    assert stats["chats"]["total"] == 7
    assert stats["users"]["total"] == 2


def test_a_sign_out_on_one_instance_ends_the_token_on_the_other_at_once(deployment):
    # Each instance answers the revocation check from memory (infrastructure/notices.py):
    # the other instance's list must hear of the sign-out within moments, not at its next
    # start. The first use on B proves its list was loaded; the poll bounds the wait.
    servers, _ = deployment
    first, second = (httpx.Client(base_url=s.base_url, timeout=30) for s in servers)
    email = f"out-{uuid.uuid4().hex[:8]}@example.com"
    account = {"email": email, "password": "out-user-pass", "name": "O"}
    first.post("/api/auth/register", json=account)
    headers = bearer(first, email, "out-user-pass")
    assert second.get("/api/chat/sessions", headers=headers).status_code == 200
    assert first.post("/api/auth/logout", headers=headers).status_code == 200
    deadline = time.monotonic() + 2.0
    status = 200
    while time.monotonic() < deadline:
        status = second.get("/api/chat/sessions", headers=headers).status_code
        if status == 401:
            break
        time.sleep(0.01)
    assert status == 401
    assert first.get("/api/chat/sessions", headers=headers).status_code == 401
