"""Retention in PostgreSQL: candidates for expiry, and recording one with its text erased."""

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresDatastore

from application.errors import StreamConflict
from application.expire_conversations import expire_conversations
from application.ports import Clock, PendingEvent
from domain.personal import redacted
from infrastructure.event_store import RecorderEventStore
from infrastructure.group_commit import APPEND
from infrastructure.postgres import EVENTS_TABLE

log = logging.getLogger("llmchat.retention")

SWEEP_SECONDS = 600
# Any fixed number, taken by one expiry at a time (see PostgresExpiry).
EXPIRY_LOCK = 7_401_180_002


class PostgresIdleConversations:
    """Candidates from the write side's own table (kept with every append, see
    infrastructure/postgres.py), not from a read model that lags the log. It only
    nominates: the conversation's stream decides."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def idle_since(self, cutoff: datetime) -> list[str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT session_id FROM llmchat_conversation_changes"
                " WHERE changed_at < %s ORDER BY changed_at",
                (cutoff,),
            ).fetchall()
        return [str(row["session_id"]) for row in rows]


class PostgresExpiry:
    """Appends an expiry and rewrites the streams it covers without their text, in one
    transaction: if the expiry's version is taken, nothing is erased.

    The one place that changes stored history, and only to take words out: ids, versions,
    positions, timestamps and request origins stay, so projections and the audit trail built
    from the erased events come out the same apart from the text.
    """

    def __init__(self, datastore: PostgresDatastore, store: RecorderEventStore) -> None:
        self.datastore = datastore
        self.store = store

    def record(self, expired: PendingEvent, erase: Sequence[str]) -> None:
        stored = self.store.stamped(expired)
        changed = [
            (self.store.restate(recorded, erased), UUID(stream_id), recorded.version)
            for stream_id in erase
            for recorded in self.store.read(stream_id)
            if (erased := redacted(recorded.event)) != recorded.event
        ]
        try:
            with self.datastore.transaction(commit=True) as cursor:
                # Appends lock the table before they write; these updates write before the
                # append locks it, so two expiries at once would each wait for the other.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (EXPIRY_LOCK,))
                # Each rewrite is recorded for `audit verify`, which names these positions
                # as retention's instead of as forgeries (projections/sealer.py).
                cursor.executemany(
                    f"WITH rewritten AS (UPDATE {EVENTS_TABLE} SET state = %s"
                    " WHERE originator_id = %s AND originator_version = %s"
                    " RETURNING notification_id, state)"
                    " INSERT INTO llmchat_event_rewrites (position, state_hash)"
                    " SELECT notification_id, encode(sha256(state), 'hex') FROM rewritten"
                    " ON CONFLICT (position) DO UPDATE SET state_hash = excluded.state_hash,"
                    " rewritten_at = now()",
                    changed,
                )
                # Last, so the table's lock (which holds up every append) is held only
                # until the commit that follows.
                cursor.execute(
                    APPEND,
                    (
                        [stored.originator_id],
                        [stored.originator_version],
                        [stored.topic],
                        [stored.state],
                    ),
                )
        except IntegrityError:
            raise StreamConflict from None


def sweep(
    store: RecorderEventStore, datastore: PostgresDatastore, clock: Clock, days: float
) -> int:
    idle = PostgresIdleConversations(datastore)
    return expire_conversations(store, idle, PostgresExpiry(datastore, store), clock, days)


def keep_sweeping(
    store: RecorderEventStore,
    datastore: PostgresDatastore,
    clock: Clock,
    days: float,
    stop: threading.Event,
) -> threading.Thread:
    """Expire idle conversations every SWEEP_SECONDS until `stop` is set."""

    def run() -> None:
        while not stop.wait(SWEEP_SECONDS):
            try:
                expired = sweep(store, datastore, clock, days)
                if expired:
                    log.info("retention: %d conversations expired", expired)
            except Exception as error:  # the database may be down; the next sweep retries
                log.warning("retention sweep failed: %s", error)

    thread = threading.Thread(target=run, name="retention", daemon=True)
    thread.start()
    return thread
