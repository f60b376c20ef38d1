"""A server whose log holds events its read models cannot take (issue 13, item 1).

Poison goes straight into the event store, as a route that let it through would have put it:
text with U+0000, an id PostgreSQL's uuid type cannot read. The server's projections
quarantine them and go on (a session saved after them is listed), `/health/detailed`,
`/metrics` and `projections status` show the quarantine, and `projections rebuild` does not
die on them.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from application.accounts import SystemClock
from domain.conversation import ConversationStarted
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from tests.e2e.admin_fixtures import admin_headers, eventually, projections_current, server_env
from tests.support.builders import signed_in
from tests.support.poison import append, failed_sign_in, upload
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
