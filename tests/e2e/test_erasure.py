"""Erasure of a user (issue 17 §3): nothing they wrote or uploaded can be read anywhere a
person can look (every table of the database, `events export`, `sessions replay`, the admin
audit API), the account is closed, the seal chain still verifies and a rebuild gives the
same read models. The same on a log written by an older main: tests/integration/test_old_log.py."""

import uuid

import httpx
import psycopg
import pytest

from tests.e2e.admin_fixtures import eventually
from tests.support.builders import PASSWORD, login, register
from tests.support.erasure import (
    audit_answers,
    found_in_answers,
    found_in_tables,
    read_models,
    verified,
)
from tests.support.server import ServerProcess, run_cli

ADMIN = {"email": "eraser@example.com", "password": "eraser-password-1"}


@pytest.fixture(scope="module")
def erasure_env(chat_env, make_database):
    return {
        **chat_env,
        "LLMCHAT_DATABASE_URL": make_database("erasure"),
        "LLMCHAT_ADMIN_EMAIL": ADMIN["email"],
        "LLMCHAT_ADMIN_PASSWORD": ADMIN["password"],
    }


def bearer(data: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {data['token']}"}


def chat(http: httpx.Client, auth: dict[str, str], text: str) -> str:
    body = {"agentId": "openai", "messages": [{"role": "user", "content": text}]}
    answer = http.post("/api/chat/completions", headers=auth, json=body)
    assert answer.status_code == 200, answer.text
    session_id: str = answer.json()["data"]["sessionId"]
    return session_id


def test_an_erased_user_leaves_nothing_readable_and_the_log_still_verifies(erasure_env):
    tag = uuid.uuid4().hex
    typed, kept_file, described = f"typed-{tag}", f"file-bytes-{tag}", f"described-{tag}"
    own = f"self-erased-{tag}"
    needles = [typed, kept_file, described, own]
    server = ServerProcess(erasure_env, args=())
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            admin = bearer(login(http, ADMIN["email"], ADMIN["password"]))
            erased_email, leaving_email = f"erased-{tag}@example.com", f"leaving-{tag}@example.com"
            erased = register(http, erased_email)
            register(http, leaving_email)
            auth, leaving = bearer(login(http, erased_email)), bearer(login(http, leaving_email))
            session_id = chat(http, auth, f"{typed} is what I wrote")
            uploaded = http.post(
                "/api/upload",
                files={"file": ("notes.txt", f"{kept_file}\n".encode())},
                data={"description": described},
                headers=auth,
            )
            assert uploaded.status_code == 200, uploaded.text
            file_name = uploaded.json()["data"]["filename"]
            chat(http, leaving, f"{own} goes too")
            history = f"/api/chat/sessions/{session_id}/history"
            assert eventually(lambda: typed in http.get(history, headers=auth).text), (
                "the chat reached its history"
            )
            assert eventually(lambda: found_in_tables(erasure_env["LLMCHAT_DATABASE_URL"], needles))

            path = f"/api/admin/users/{erased['id']}/erase"
            answer = http.post(path, headers=admin)
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            assert data["erased"] and data["status"] == "deactivated"
            assert data["keysDestroyed"] >= 2 and data["filesDeleted"] == 1
            assert http.post(path, headers=admin).status_code == 409
            wrong = http.request("DELETE", "/api/auth/me", headers=leaving, json={"password": "x"})
            assert wrong.status_code == 401
            mine = http.request(
                "DELETE", "/api/auth/me", headers=leaving, json={"password": PASSWORD}
            )
            assert mine.status_code == 200, mine.text

            # The accounts are closed: their tokens, sign-ins and files are gone.
            assert http.get("/api/chat/sessions", headers=auth).status_code == 401
            assert http.get("/api/chat/sessions", headers=leaving).status_code == 401
            assert http.post(
                "/api/auth/login", json={"email": erased_email, "password": PASSWORD}
            ).status_code in (401, 403)
            assert http.get(f"/uploads/{file_name}", headers=admin).status_code == 404

            db_url = erasure_env["LLMCHAT_DATABASE_URL"]
            left = eventually(lambda: not found_in_tables(db_url, needles)) or found_in_tables(
                db_url, needles
            )
            assert left is True, f"left in the database: {left}"
            audit = eventually(
                lambda: "user.erase" in audit_answers(http, admin) and audit_answers(http, admin)
            )
            assert audit.count("user.erase") == 2
            assert not found_in_answers({"audit API": audit}, needles)
        # Sealed to the head before the server stops.
        assert eventually(lambda: "not yet sealed" not in verified(erasure_env), timeout=20)
    finally:
        server.stop()

    exported = run_cli(["events", "export"], erasure_env)
    assert exported.returncode == 0, exported.stderr
    replayed = run_cli(["sessions", "replay", session_id], erasure_env)
    assert replayed.returncode == 0, replayed.stderr
    answers = {"events export": exported.stdout, "sessions replay": replayed.stdout}
    assert not found_in_answers(answers, needles)

    before = read_models(db_url)
    rebuilt = run_cli(["projections", "rebuild"], erasure_env, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert read_models(db_url) == before
    assert not found_in_tables(db_url, needles)
    said = verified(erasure_env)
    assert "rewritten in place" not in said

    # Since data keys, a rewrite is a forgery, recorded as retention's or not.
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT max(notification_id) FROM llmchat_events WHERE originator_id = %s",
            (session_id,),
        ).fetchone()
        assert row is not None
        conn.execute(
            "UPDATE llmchat_events SET state = state || '\\x20'::bytea WHERE notification_id = %s",
            (row[0],),
        )
        conn.execute(
            "INSERT INTO llmchat_event_rewrites (position, state_hash) SELECT notification_id,"
            " encode(sha256(state), 'hex') FROM llmchat_events WHERE notification_id = %s",
            (row[0],),
        )
    forged = run_cli(["audit", "verify"], erasure_env)
    assert forged.returncode == 1
    assert f"event chain broken at position {row[0]}" in forged.stderr
