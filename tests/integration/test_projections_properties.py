"""Any event history, applied by runners that are killed mid-catch-up and restarted, leaves
every read model exactly as one clean run does; so does a rebuild.

Runs against real PostgreSQL (the read models are SQL): one database for this module,
emptied between examples.
"""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import projections as all_projections
from application.ports import PendingEvent
from domain.conversation import (
    ConversationDeleted,
    ConversationStarted,
    ConversationTitled,
    ImportedMessage,
    MessagesImported,
    ReplyFinished,
    ReplyStarted,
    UserMessagePosted,
)
from domain.file import FileDeleted, FileUploaded
from domain.rate_limit import RateLimited
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened
from domain.security import AccessDenied, SignInFailed
from domain.token_family import RefreshReuseDetected, SignedIn, SignedOut, TokenRefreshed
from domain.user import EmailClaimed, UserRegistered
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import create_schema, open_datastore
from projections.audit_views import AuditViews
from projections.projection import Projection
from projections.rebuild import rebuild
from projections.runner import POSITIONS, ProjectionRunner
from tests.support.poison import append_unchecked
from tests.unit.fakes import FixedClock

PROJECTIONS = all_projections()
TABLES = [table for p in PROJECTIONS for table in p.tables]


@pytest.fixture(scope="module")
def database(make_database) -> Iterator[tuple[Any, RecorderEventStore, FixedClock]]:
    datastore = open_datastore(make_database("projection_properties"), pool_size=3)
    schema = [*POSITIONS, *(s for p in PROJECTIONS for s in p.schema)]
    clock = FixedClock()
    store = RecorderEventStore(create_schema(datastore, schema), clock)
    yield datastore, store, clock
    datastore.close()


def empty_read_models(datastore: Any, events_too: bool = False) -> None:
    tables = [*TABLES, "llmchat_projection_positions", "llmchat_projection_quarantine"]
    if events_too:
        tables.append("llmchat_events")
    with datastore.get_connection() as conn:
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


def snapshot(datastore: Any) -> dict[str, list[str]]:
    """Every row of every read model, as PostgreSQL spells it, in a fixed order."""
    with datastore.get_connection() as conn:
        tables = {
            table: [
                r["row"] for r in conn.execute(f"SELECT t::text AS row FROM {table} t ORDER BY 1")
            ]
            for table in TABLES
        }
        positions = conn.execute(
            "SELECT name, position FROM llmchat_projection_positions ORDER BY name"
        ).fetchall()
        quarantined = conn.execute(
            "SELECT name, position, event_type, error FROM llmchat_projection_quarantine"
            " ORDER BY 1, 2"
        ).fetchall()
    tables["positions"] = [f"{r['name']}={r['position']}" for r in positions]
    tables["quarantine"] = [
        f"{r['name']}@{r['position']} {r['event_type']}: {r['error']}" for r in quarantined
    ]
    return tables


def fresh_runner(datastore: Any, store: RecorderEventStore) -> ProjectionRunner:
    """A new runner object, as a restarted worker would have."""
    return ProjectionRunner(datastore, store, "unused", "unused")


class Killed(BaseException):
    """The worker died in the middle of a batch: no error the runner handles (a poison
    event is one), as a kill is none."""


class DiesAfter:
    """The projection, but its worker dies after applying `applies` events of a batch."""

    def __init__(self, inner: Projection, applies: int) -> None:
        self.inner, self.applies = inner, applies
        self.name, self.schema, self.tables = inner.name, inner.schema, inner.tables

    def apply(self, cursor: Any, batch: Any) -> None:
        self.inner.apply(cursor, batch[: self.applies])
        if len(batch) > self.applies:
            raise Killed
        self.applies -= len(batch)


# ---- Generating histories: operations interpreted into events with correct versions ----

OPERATIONS = (
    "register",
    "sign_in",
    "sign_in_failed",
    "refresh",
    "refresh_reuse",
    "sign_out",
    "chat",
    "post",
    "chunk",
    "finish",
    "save",
    "delete_session",
    "upload",
    "delete_file",
    "denied",
    "rate_limited",
    "next_day",
)
# Control characters include U+0000, which PostgreSQL text refuses: the events that carry it
# are quarantined by the projections that store the text, the same way on every run.
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
OPERATION = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 1000), TEXT)


class History:
    """Entities made so far, and the next version of every stream."""

    def __init__(self, store: RecorderEventStore, clock: FixedClock) -> None:
        self.store, self.clock = store, clock
        self.versions: dict[str, int] = {}
        self.users: list[str] = []
        self.families: list[tuple[str, str]] = []
        self.sessions: list[tuple[str, str]] = []  # (session, owner)
        self.open_replies: dict[str, str] = {}  # session -> reply message id
        self.files: list[tuple[str, str]] = []
        self.deleted_sessions: set[str] = set()

    def append(self, *events: tuple[str, object]) -> None:
        pending = []
        for stream, event in events:
            self.versions[stream] = self.versions.get(stream, 0) + 1
            pending.append(PendingEvent(stream, self.versions[stream], event))
        # Unchecked: the store refuses U+0000 now, but a log written before holds it.
        append_unchecked(self.store, pending)
        self.clock.advance(1.5)

    def pick(self, items: list[Any], n: int) -> Any:
        return items[n % len(items)] if items else None

    def apply(self, operation: str, n: int, text: str) -> None:
        getattr(self, operation)(n, text)

    def register(self, n: int, text: str) -> None:
        user = str(uuid.uuid4())
        email = f"{user}@example.com"
        registered = UserRegistered(
            user_id=user, email=email, name=text or "x", role="user", password_hash="h"
        )
        self.append(
            (user, registered), (str(uuid.uuid4()), EmailClaimed(email=email, user_id=user))
        )
        self.users.append(user)

    def sign_in(self, n: int, text: str) -> None:
        if user := self.pick(self.users, n):
            family = str(uuid.uuid4())
            ids = {"refresh_jti": "r", "access_jti": "a", "ip": "10.0.0.1", "user_agent": text}
            self.append((family, SignedIn(family_id=family, user_id=user, **ids)))
            self.families.append((family, user))

    def sign_in_failed(self, n: int, text: str) -> None:
        user = self.pick(self.users, n) if n % 2 else None
        failed = SignInFailed(
            email="who@example.com",
            user_id=user,
            reason="wrong_password",
            ip="10.0.0.2",
            user_agent=text,
        )
        self.append((str(uuid.uuid4()), failed))

    def family_event(self, n: int, make: Any) -> None:
        if picked := self.pick(self.families, n):
            family, user = picked
            self.append((family, make(family, user)))

    def refresh(self, n: int, text: str) -> None:
        self.family_event(
            n,
            lambda f, u: TokenRefreshed(
                family_id=f,
                user_id=u,
                previous_jti="r",
                refresh_jti="s",
                access_jti="b",
                ip="10.0.0.1",
                user_agent=text,
            ),
        )

    def refresh_reuse(self, n: int, text: str) -> None:
        self.family_event(
            n,
            lambda f, u: RefreshReuseDetected(
                family_id=f, user_id=u, presented_jti="r", ip="10.0.0.3", user_agent=text
            ),
        )

    def sign_out(self, n: int, text: str) -> None:
        self.family_event(
            n,
            lambda f, u: SignedOut(
                family_id=f, user_id=u, access_jti="a", ip="10.0.0.1", user_agent=text
            ),
        )

    def turn(self, session: str, owner: str, text: str) -> list[tuple[str, object]]:
        message, reply = str(uuid.uuid4()), str(uuid.uuid4())
        self.open_replies[session] = reply
        opened = ReplyOpened(
            message_id=reply, session_id=session, owner_id=owner, instance_id=owner
        )
        return [
            (session, UserMessagePosted(session_id=session, message_id=message, content=text)),
            (
                session,
                ReplyStarted(
                    session_id=session, message_id=reply, agent_id="demo", instance_id=owner
                ),
            ),
            (reply, opened),
        ]

    def chat(self, n: int, text: str) -> None:
        if owner := self.pick(self.users, n):
            session = str(uuid.uuid4())
            started = ConversationStarted(
                session_id=session, owner_id=owner, agent_id="demo", title=text
            )
            self.append((session, started), *self.turn(session, owner, text))
            self.sessions.append((session, owner))

    def live_session(self, n: int) -> tuple[str, str] | None:
        live = [s for s in self.sessions if s[0] not in self.deleted_sessions]
        picked: tuple[str, str] | None = self.pick(live, n)
        return picked

    def post(self, n: int, text: str) -> None:
        picked = self.live_session(n)
        if picked and picked[0] not in self.open_replies:
            self.append(*self.turn(picked[0], picked[1], text))

    def chunk(self, n: int, text: str) -> None:
        if reply := self.pick(sorted(self.open_replies.values()), n):
            self.append((reply, ChunksAppended(text=text, deltas=1)))

    def finish(self, n: int, text: str) -> None:
        sessions = sorted(self.open_replies)
        if session := self.pick(sessions, n):
            reply = self.open_replies.pop(session)
            outcome = ("completed", "failed", "cancelled", "interrupted")[n % 4]
            closed = ReplyClosed(outcome=outcome, finish_reason=outcome, completion_tokens=n % 7)
            finished = ReplyFinished(
                session_id=session,
                message_id=reply,
                outcome=outcome,
                content=text,
                finish_reason=outcome,
                prompt_tokens=n % 5,
                completion_tokens=n % 7,
            )
            self.append((reply, closed), (session, finished))

    def save(self, n: int, text: str) -> None:
        messages = [
            ImportedMessage(
                message_id=str(uuid.uuid4()), role=("user", "assistant")[i % 2], content=text
            )
            for i in range(n % 4 + 1)
        ]
        picked = self.live_session(n) if n % 3 else None
        if picked is None and (owner := self.pick(self.users, n)):
            session = str(uuid.uuid4())
            started = ConversationStarted(
                session_id=session, owner_id=owner, agent_id="demo", title=text
            )
            self.append(
                (session, started),
                (session, MessagesImported(session_id=session, messages=messages)),
            )
            self.sessions.append((session, owner))
        elif picked is not None:
            session = picked[0]
            titled = ConversationTitled(session_id=session, title=text + "!")
            self.append(
                (session, titled),
                (session, MessagesImported(session_id=session, messages=messages)),
            )

    def delete_session(self, n: int, text: str) -> None:
        if picked := self.live_session(n):
            session, owner = picked
            self.append((session, ConversationDeleted(session_id=session, deleted_by=owner)))
            self.deleted_sessions.add(session)
            self.open_replies.pop(session, None)

    def upload(self, n: int, text: str) -> None:
        if owner := self.pick(self.users, n):
            file_id = str(uuid.uuid4())
            uploaded = FileUploaded(
                file_id=file_id,
                owner_id=owner,
                original_name=text + ".txt",
                extension="txt",
                file_type="document",
                content_type="text/plain",
                size=n,
                sha256="0" * 64,
                description=text,
            )
            self.append((file_id, uploaded))
            self.files.append((file_id, owner))

    def delete_file(self, n: int, text: str) -> None:
        if picked := self.pick(self.files, n):
            self.files.remove(picked)
            self.append((picked[0], FileDeleted(file_id=picked[0], deleted_by=picked[1])))

    def denied(self, n: int, text: str) -> None:
        denied = AccessDenied(
            user_id=self.pick(self.users, n),
            status=(401, 403)[n % 2],
            method="GET",
            path="/api/admin/stats",
            reason=text,
            ip="10.0.0.9",
            user_agent=text,
            request_id="r",
        )
        self.append((str(uuid.uuid4()), denied))

    def rate_limited(self, n: int, text: str) -> None:
        limited = RateLimited(
            key="ip:10.0.0.9",
            user_id=None,
            limit=1000,
            window_seconds=60,
            ip="10.0.0.9",
            method="POST",
            path="/api/chat/completions",
            user_agent=text,
            request_id="q",
        )
        self.append((str(uuid.uuid4()), limited))

    def next_day(self, n: int, text: str) -> None:
        self.clock.advance(timedelta(hours=n % 30 + 1).total_seconds())


# ---- The property ----


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(OPERATION, min_size=1, max_size=30),
    kills=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 3)), max_size=12),
)
def test_killed_and_restarted_runners_build_what_one_clean_run_builds(database, operations, kills):
    datastore, store, clock = database
    empty_read_models(datastore, events_too=True)
    history = History(store, clock)
    for operation, n, text in [("register", 0, "first"), *operations]:
        history.apply(operation, n, text)

    for projection in PROJECTIONS:
        fresh_runner(datastore, store).catch_up(projection)
    clean = snapshot(datastore)
    assert AuditViews(datastore).verify().intact

    empty_read_models(datastore)
    for limit, dies_after in kills:
        for projection in PROJECTIONS:
            # Either a worker stopped after `limit` events, or one killed inside a batch
            # (its transaction rolls back); each time a new runner object carries on.
            try:
                doomed = DiesAfter(projection, dies_after) if dies_after else projection
                fresh_runner(datastore, store).catch_up(doomed, limit=limit)
            except Killed:
                pass
    for projection in PROJECTIONS:
        fresh_runner(datastore, store).catch_up(projection)
    assert snapshot(datastore) == clean

    for projection in PROJECTIONS:
        rebuild(fresh_runner(datastore, store), projection)
    assert snapshot(datastore) == clean
    assert AuditViews(datastore).verify().intact
