"""Retention: an expired conversation's text is gone from history, export and the raw event
table, while its audit entries remain and the audit chain still verifies."""

import json
import time
import uuid

import httpx
import psycopg
import pytest

from tests.support.server import ServerProcess, run_cli

ADMIN = {"email": "keeper@example.com", "password": "keeper-password"}
TYPED = "The password to the vault is PLUGH"
IMPORTED = "An older note mentions XYZZY"


@pytest.fixture(scope="module")
def retention_env(chat_env, make_database):
    return {
        **chat_env,
        "LLMCHAT_DATABASE_URL": make_database("retention"),
        "LLMCHAT_ADMIN_EMAIL": ADMIN["email"],
        "LLMCHAT_ADMIN_PASSWORD": ADMIN["password"],
    }


def token(http, email, password):
    return {
        "Authorization": "Bearer "
        + http.post("/api/auth/login", json={"email": email, "password": password}).json()["data"][
            "token"
        ]
    }


def test_expired_text_is_unreadable_everywhere_and_its_audit_remains(retention_env):
    server = ServerProcess(retention_env, args=())
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            email = f"forget-{uuid.uuid4().hex[:8]}@example.com"
            http.post(
                "/api/auth/register",
                json={"email": email, "password": "forget-me-pass", "name": "F"},
            )
            auth = token(http, email, "forget-me-pass")
            body = {
                "agentId": "openai",
                "messages": [
                    {"role": "user", "content": IMPORTED},
                    {"role": "user", "content": TYPED},
                ],
            }
            session_id = http.post("/api/chat/completions", headers=auth, json=body).json()["data"][
                "sessionId"
            ]
            history = f"/api/chat/sessions/{session_id}/history"
            deadline = time.monotonic() + 10
            while (
                len(http.get(history, headers=auth).json()["data"]["items"]) < 3
                and time.monotonic() < deadline
            ):
                time.sleep(0.1)

            swept = run_cli(["retention", "sweep", "--days", "0"], retention_env)
            assert swept.returncode == 0, swept.stderr
            assert swept.stdout.startswith("1 conversations expired")

            assert http.get(history, headers=auth).status_code == 404
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                listed = http.get("/api/chat/sessions", headers=auth).json()["data"]["items"]
                if not listed:
                    break
                time.sleep(0.1)
            assert listed == []

            exported = run_cli(["events", "export"], retention_env).stdout
            assert session_id in exported
            for secret in ("PLUGH", "XYZZY", "Hello from the fake provider"):
                assert secret not in exported

            with psycopg.connect(retention_env["LLMCHAT_DATABASE_URL"]) as conn:
                states = [bytes(row[0]) for row in conn.execute("SELECT state FROM llmchat_events")]
            for needle in (b"PLUGH", b"XYZZY", b"Hello from the fake provider"):
                assert not any(needle in state for state in states)

            admin = token(http, ADMIN["email"], ADMIN["password"])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                audit = http.get("/api/admin/audit", headers=admin, params={"limit": 100}).json()[
                    "data"
                ]["items"]
                actions = {e["action"] for e in audit if session_id in (e.get("resource") or "")}
                if "chat.expire" in actions:
                    break
                time.sleep(0.2)
            assert {"chat.send", "chat.expire"} <= actions
        verified = run_cli(["audit", "verify"], retention_env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # The key was destroyed: no stored event was rewritten.
        assert "rewritten in place" not in verified.stdout
        with psycopg.connect(retention_env["LLMCHAT_DATABASE_URL"]) as conn:
            assert conn.execute("SELECT count(*) FROM llmchat_event_rewrites").fetchone() == (0,)
            destroyed = conn.execute(
                "SELECT wrapped, destroyed_at FROM llmchat_data_keys WHERE key_id = %s",
                (session_id,),
            ).fetchone()
        assert destroyed is not None and destroyed[0] is None and destroyed[1] is not None
        rebuilt = run_cli(["projections", "rebuild"], retention_env)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert run_cli(["audit", "verify"], retention_env).returncode == 0
        assert (
            json.loads(
                run_cli(
                    ["events", "export", "--stream", session_id], retention_env
                ).stdout.splitlines()[-1]
            )["type"]
            == "ConversationExpired"
        )
    finally:
        server.stop()
