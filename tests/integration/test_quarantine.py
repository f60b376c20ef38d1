"""No single event stops the projections (issue 13, item 1, in the runner).

Poison events are written straight into the event store, as a route that let one through
would: text holding U+0000 (PostgreSQL text refuses it), an id Python's uuid reads but
PostgreSQL's does not, a stored state that is not JSON. Each projection that cannot apply one
quarantines it and goes on; the events after it reach every read model, once; status and the
metric show it; a rebuild re-applies it, never dies on it, and heals what a fix lets apply.
"""

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from api.bootstrap import projections as all_projections
from application.ports import PendingEvent
from domain.conversation import ConversationStarted, UserMessagePosted
from domain.user import UserRegistered
from infrastructure.clock import SystemClock
from infrastructure.event_store import RecorderEventStore
from infrastructure.metrics import exposition
from infrastructure.postgres import create_schema, open_datastore
from projections.audit_views import AuditViews
from projections.files import FilesProjection
from projections.projection import Projection
from projections.rebuild import rebuild
from projections.runner import POSITIONS, ProjectionRunner, wait_until_current
from projections.status import status_report, status_table
from tests.integration.test_projections_properties import snapshot
from tests.support.poison import append, append_unchecked, failed_sign_in, upload

PROJECTIONS = all_projections()


@pytest.fixture
def database(make_database) -> Iterator[tuple[Any, RecorderEventStore, str, str]]:
    url = make_database(f"quarantine_{uuid.uuid4().hex[:8]}")
    datastore = open_datastore(url, pool_size=4)
    schema = [*POSITIONS, *(s for p in PROJECTIONS for s in p.schema)]
    recorder = create_schema(datastore, schema)
    yield datastore, RecorderEventStore(recorder, SystemClock()), recorder.channel_name, url
    datastore.close()


class Follower:
    """A worker following the log in a thread, as `llmchat worker` does."""

    def __init__(self, database: Any, projections: list[Projection]) -> None:
        datastore, store, channel, url = database
        self.runner = ProjectionRunner(datastore, store, channel, url)
        self.projections = projections
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self.runner.follow, args=(projections, self.stop), daemon=True
        )

    def __enter__(self) -> "Follower":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def current(self) -> bool:
        return wait_until_current(self.runner, self.projections, timeout=15)


def register(store: RecorderEventStore) -> str:
    user = str(uuid.uuid4())
    registered = UserRegistered(
        user_id=user, email=f"{user}@example.com", name="n", role="user", password_hash="h"
    )
    append(store, registered, user)
    return user


def chat(store: RecorderEventStore, owner: str, session: str | None = None) -> str:
    """A session started with one message; `session` may be spelled as PostgreSQL cannot."""
    stream = str(uuid.uuid4())
    session = session or stream
    started = ConversationStarted(session_id=session, owner_id=owner, agent_id="demo", title="t")
    posted = UserMessagePosted(session_id=session, message_id=str(uuid.uuid4()), content="hello")
    append_unchecked(store, [PendingEvent(stream, 1, started), PendingEvent(stream, 2, posted)])
    return session


def sql(datastore: Any, statement: str, *params: object) -> list[dict[str, Any]]:
    with datastore.get_connection() as conn:
        cursor = conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def quarantine(datastore: Any) -> set[tuple[str, int, str]]:
    rows = sql(datastore, "SELECT name, position, event_type FROM llmchat_projection_quarantine")
    return {(r["name"], r["position"], r["event_type"]) for r in rows}


def test_poison_events_are_quarantined_and_the_events_after_them_reach_every_read_model(
    database,
):
    datastore, store, _, _ = database
    first = register(store)
    nul_file = upload(store, first, "a.txt", description="bad\x00text")
    nul_file_at = store.last_position()
    poison_session = f"urn:uuid:{uuid.uuid4()}"  # Python's uuid.UUID reads it; PostgreSQL not
    chat(store, first, poison_session)
    poison_session_at = store.last_position() - 1
    nul_login_at = failed_sign_in(store, "x\x00@example.com")
    # Good events after the poison: every read model must show them.
    second = register(store)
    session = chat(store, second)
    good_file = upload(store, second, "b.txt")

    with Follower(database, PROJECTIONS) as follower:
        assert follower.current(), "a poison event stopped the projections"

    assert sql(datastore, "SELECT session_id::text AS s FROM llmchat_conversations") == [
        {"s": session}
    ]
    assert len(sql(datastore, "SELECT 1 FROM llmchat_messages WHERE session_id = %s", session)) == 1
    files = sql(datastore, "SELECT file_id::text AS f FROM llmchat_files")
    assert files == [{"f": good_file}] and nul_file not in str(files)
    users = sql(datastore, "SELECT user_id::text AS u FROM llmchat_stats_users ORDER BY 1")
    assert {r["u"] for r in users} == {first, second}
    # Exactly once: each registration counted once, also on the path that retried per event.
    counted = sql(
        datastore,
        "SELECT sum(value)::int AS n FROM llmchat_stats_daily WHERE metric = 'users_registered'",
    )
    assert counted == [{"n": 2}]
    audited = sql(datastore, "SELECT resource FROM llmchat_audit WHERE action = 'chat.start'")
    assert {r["resource"] for r in audited} == {
        f"chat-sessions/{poison_session}",
        f"chat-sessions/{session}",
    }
    assert AuditViews(datastore).verify().intact

    expected = {
        ("files", nul_file_at, "FileUploaded"),
        ("conversations", poison_session_at, "ConversationStarted"),
        ("conversations", poison_session_at + 1, "UserMessagePosted"),
        ("stats", poison_session_at, "ConversationStarted"),
        ("stats", poison_session_at + 1, "UserMessagePosted"),
        ("audit", nul_login_at, "SignInFailed"),
    }
    assert quarantine(datastore) == expected
    errors = {
        r["name"]: r["error"]
        for r in sql(datastore, "SELECT * FROM llmchat_projection_quarantine ORDER BY position")
    }
    assert "NUL" in errors["files"] and "uuid" in errors["conversations"]

    table = status_table(status_report(datastore, PROJECTIONS))
    assert "quarantined events (6;" in table
    assert f"position {nul_file_at} files: FileUploaded" in table
    metrics = exposition(datastore).decode()
    assert 'llmchat_projection_quarantined_events{projection="files"} 1.0' in metrics
    assert 'llmchat_projection_quarantined_events{projection="agents"} 0.0' in metrics

    # A rebuild applies them again, quarantines them again, and builds what the live run built.
    live = snapshot(datastore)
    runner = ProjectionRunner(*database)
    rebuilt = {p.name: rebuild(runner, p) for p in PROJECTIONS}
    assert [q.position for q in rebuilt["stats"].quarantined] == [
        poison_session_at,
        poison_session_at + 1,
    ]
    assert snapshot(datastore) == live
    assert quarantine(datastore) == expected
    assert AuditViews(datastore).verify().intact


def test_a_corrupt_stored_state_is_quarantined_by_every_projection_and_rebuild_goes_on(
    database,
):
    datastore, store, _, _ = database
    first = register(store)
    corrupted = register(store)
    corrupt_at = store.last_position()
    second = register(store)
    sql(
        datastore,
        "UPDATE llmchat_events SET state = 'not json'::bytea WHERE notification_id = %s",
        corrupt_at,
    )
    with Follower(database, PROJECTIONS) as follower:
        assert follower.current(), "an undecodable event stopped the projections"
        users = sql(datastore, "SELECT user_id::text AS u FROM llmchat_stats_users")
        assert {r["u"] for r in users} == {first, second}
        assert quarantine(datastore) == {
            (p.name, corrupt_at, "UserRegistered") for p in PROJECTIONS
        }
        for projection in PROJECTIONS:  # also while the follower holds the locks
            done = rebuild(ProjectionRunner(*database), projection)
            assert [q.position for q in done.quarantined] == [corrupt_at]
        assert quarantine(datastore) == {
            (p.name, corrupt_at, "UserRegistered") for p in PROJECTIONS
        }
        third = register(store)
        assert follower.current()
    users = sql(datastore, "SELECT user_id::text AS u FROM llmchat_stats_users")
    assert {r["u"] for r in users} == {first, second, third}
    assert corrupted not in {r["u"] for r in users}


class RefusesReadme(FilesProjection):
    """The files projection with a bug: it cannot apply an upload named README."""

    def apply_event(self, cursor: Any, recorded: Any) -> None:
        if getattr(recorded.event, "original_name", None) == "README":
            raise ValueError("cannot handle README")
        super().apply_event(cursor, recorded)


def test_a_rebuild_after_the_fix_heals_the_quarantine(database):
    datastore, store, _, _ = database
    owner = register(store)
    before = upload(store, owner, "a.txt")
    readme = upload(store, owner, "README")
    readme_at = store.last_position()
    after = upload(store, owner, "b.txt")
    with Follower(database, [RefusesReadme()]) as follower:
        assert follower.current()
    listed = {r["f"] for r in sql(datastore, "SELECT file_id::text AS f FROM llmchat_files")}
    assert listed == {before, after}
    [row] = sql(datastore, "SELECT * FROM llmchat_projection_quarantine")
    assert (row["name"], row["position"], row["error"]) == (
        "files",
        readme_at,
        "ValueError: cannot handle README",
    )
    assert (row["stream_id"], row["version"]) == (readme, 1)

    done = rebuild(ProjectionRunner(*database), FilesProjection())  # the fixed projection
    assert done.quarantined == ()
    assert quarantine(datastore) == set()
    listed = {r["f"] for r in sql(datastore, "SELECT file_id::text AS f FROM llmchat_files")}
    assert listed == {before, readme, after}
