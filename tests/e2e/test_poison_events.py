"""A server whose log holds events its read models cannot take (issue 13, items 1 and 9).

Poison goes straight into the event store, as a route that let it through would have put it:
text with U+0000, an id PostgreSQL's uuid type cannot read; and one stored state is made
corrupt with SQL. The server's projections quarantine them and go on (a session saved after
them is listed), `/health/detailed`, `/metrics` and `projections status` show the quarantine,
`projections rebuild` does not die on them, `events export` names the corrupt one and goes
on, and `audit verify` says how far it verified.
"""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from domain.conversation import ConversationStarted
from infrastructure.clock import SystemClock
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from tests.e2e.admin_fixtures import admin_headers, eventually, projections_current, server_env
from tests.support.builders import register, signed_in
from tests.support.poison import append, failed_sign_in, upload
from tests.support.seals import reseal_from
from tests.support.server import ServerProcess, run_cli


@pytest.fixture
def env(fake_provider, make_database, redis_namespace, tmp_path) -> dict[str, str]:
    """A database of the test's own: its poison must not reach other tests' servers."""
    label = f"poison_{uuid.uuid4().hex[:8]}"
    return server_env(fake_provider, make_database, redis_namespace, tmp_path, label)


@pytest.fixture
def store(env) -> Iterator[RecorderEventStore]:
    """The application's event store on the server's database, from this process."""
    datastore = open_datastore(env["LLMCHAT_DATABASE_URL"], pool_size=1)
    yield RecorderEventStore(create_schema(datastore), SystemClock())
    datastore.close()


def sql(env: dict[str, str], statement: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(env["LLMCHAT_DATABASE_URL"], autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def poison(store: RecorderEventStore, owner: str) -> dict[str, int]:
    """One poison event for each kind of read model; where each landed in the log."""
    upload(store, owner, "a.txt", description="nul\x00here")
    return {
        "files": store.last_position(),
        "sessions": append(
            store,
            ConversationStarted(
                session_id=f"urn:uuid:{uuid.uuid4()}", owner_id=owner, agent_id="demo", title="t"
            ),
        ),
        "audit": failed_sign_in(store, "x\x00@example.com"),
    }


def saved_session(client: httpx.Client, auth: dict[str, str]) -> str:
    session_id = str(uuid.uuid4())
    body = {
        "sessionId": session_id,
        "title": "after the poison",
        "agentId": "demo",
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert client.post("/api/chat/sessions/save", headers=auth, json=body).status_code == 200
    return session_id


def listed(client: httpx.Client, auth: dict[str, str]) -> set[str]:
    answer = client.get("/api/chat/sessions", headers=auth).json()["data"]["items"]
    return {item["id"] for item in answer}


def test_poison_is_quarantined_shown_everywhere_and_never_stops_the_projections(env, store):
    server = ServerProcess(env, args=())  # with its projection workers
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            user, auth = signed_in(client)
            at = poison(store, user["user"]["id"])
            session_id = saved_session(client, auth)
            assert eventually(lambda: session_id in listed(client, auth)), "projections stopped"
            assert eventually(lambda: projections_current(env["LLMCHAT_DATABASE_URL"]))

            detailed = client.get("/health/detailed")
            assert detailed.status_code == 200
            assert detailed.json()["status"] == "degraded"
            check = detailed.json()["checks"]["projections"]
            assert check["status"] == "degraded" and check["quarantined"] == 4
            assert check["quarantinedByProjection"] == {
                "files": 1,
                "conversations": 1,
                "stats": 1,
                "audit": 1,
            }
            metrics = client.get("/metrics", headers=admin_headers(client)).text
            assert 'llmchat_projection_quarantined_events{projection="audit"} 1.0' in metrics
            assert 'llmchat_projection_quarantined_events{projection="agents"} 0.0' in metrics

            status = run_cli(["projections", "status"], env)
            assert status.returncode == 0, status.stderr
            assert "quarantined events (4;" in status.stdout
            assert f"position {at['files']} files: FileUploaded" in status.stdout
            assert f"position {at['audit']} audit: SignInFailed" in status.stdout

            # The rebuild, while the server's workers follow, applies them again and goes on.
            rebuilt = run_cli(["projections", "rebuild"], env)
            assert rebuilt.returncode == 0, rebuilt.stderr
            assert "Traceback" not in rebuilt.stderr
            assert f"1 events quarantined (positions {at['sessions']})" in rebuilt.stderr
            assert len(sql(env, "SELECT 1 FROM llmchat_projection_quarantine")) == 4
            later = saved_session(client, auth)
            assert eventually(lambda: later in listed(client, auth))
    finally:
        server.stop()


def test_a_corrupt_event_is_named_by_export_quarantined_by_rebuild_and_verify_says_its_reach(
    env, store
):
    server = ServerProcess(env, args=())
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            victim = register(client)
            register(client)
        assert eventually(lambda: projections_current(env["LLMCHAT_DATABASE_URL"]))
    finally:
        server.stop()
    [(corrupt_at,)] = sql(
        env,
        "SELECT notification_id FROM llmchat_events WHERE originator_id = %s"
        " AND originator_version = 1",
        uuid.UUID(victim["id"]),
    )
    sql(env, "UPDATE llmchat_events SET state = '{not json' WHERE notification_id = %s", corrupt_at)
    # As if it had been stored corrupt: sealed as it now is (a corrupt state sealed after
    # the fact is an altered event, which tests/e2e/test_event_seals.py covers).
    reseal_from(env["LLMCHAT_DATABASE_URL"], corrupt_at)
    # Appended while no projection runs: the audit projection is behind the log.
    head = [failed_sign_in(store, "late@example.com") for _ in range(2)][-1]

    exported = run_cli(["events", "export"], env)
    assert exported.returncode == 1
    assert "Traceback" not in exported.stderr
    assert f"event at position {corrupt_at} (stream {victim['id']}, version 1," in exported.stderr
    positions = [json.loads(line)["position"] for line in exported.stdout.splitlines()]
    assert corrupt_at not in positions and positions[-1] == head
    assert corrupt_at - 1 in positions and corrupt_at + 1 in positions

    audited_to = sql(env, "SELECT position FROM llmchat_projection_positions WHERE name = 'audit'")
    verified = run_cli(["audit", "verify"], env)
    assert verified.returncode == 0, verified.stderr
    first, second = verified.stdout.splitlines()[:2]
    assert first.startswith("audit chain intact: ")
    assert first.endswith(f"verified to position {audited_to[0][0]}")
    assert second.startswith(f"not yet audited: 2 events after position {audited_to[0][0]}")
    assert f"(log head {head})" in second

    rebuilt = run_cli(["projections", "rebuild", "audit"], env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Traceback" not in rebuilt.stderr
    assert f"1 events quarantined (positions {corrupt_at})" in rebuilt.stderr
    [row] = sql(
        env,
        "SELECT event_type, error FROM llmchat_projection_quarantine WHERE name = 'audit'"
        " AND position = %s",
        corrupt_at,
    )
    assert row[0] == "UserRegistered" and row[1].startswith("unreadable: ")
    verified = run_cli(["audit", "verify"], env)
    assert verified.returncode == 0, verified.stderr
    lines = verified.stdout.splitlines()
    assert lines[0].endswith(f"verified to position {head} (the log's head)")
    assert lines[1].startswith("not audited: 1 events the audit projection could not apply")
    assert f"positions {corrupt_at})" in lines[1]
