"""Retention in PostgreSQL: candidates for expiry, and recording one with its text erased
(its data key destroyed)."""

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresDatastore

from application.errors import StreamConflict
from application.expire_conversations import expire_conversations
from application.ports import Clock, PendingEvent
from domain.personal import redacted
from infrastructure.data_keys import PostgresDataKeys, destroy_keys
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


@dataclass
class PostgresExpiry:
    """Appends an expiry and erases the text of the streams it covers, in one transaction:
    if the expiry's version is taken, nothing is erased.

    The conversation's data key is destroyed: its events stay byte for byte as sealed.
    Text an older main stored in the clear (no key to destroy) is rewritten out of those
    events in place, the one rewrite the log allows (see `erase_text`).
    """

    datastore: PostgresDatastore
    store: RecorderEventStore
    keys: PostgresDataKeys

    def record(self, expired: PendingEvent, keys: Sequence[str], streams: Sequence[str]) -> None:
        erase_and_append(self.datastore, self.store, [expired], streams, lambda _: list(keys))
        self.keys.forget(keys)


def erase_and_append(
    datastore: PostgresDatastore,
    store: RecorderEventStore,
    events: Sequence[PendingEvent],
    streams: Sequence[str],
    keys_of: Callable[[Any], list[str]],
) -> list[str]:
    """One transaction: the keys `keys_of(cursor)` names destroyed, the clear text of
    `streams` erased (`erase_text`), then `events` appended (StreamConflict: none of it).
    Returns the keys destroyed."""
    stored = [store.stamped(pending) for pending in events]
    try:
        with datastore.transaction(commit=True) as cursor:
            keys = keys_of(cursor)
            erase_text(cursor, store, keys, streams)
            # Last, so the table's lock (which holds up every append) is held only
            # until the commit that follows.
            cursor.execute(
                APPEND,
                (
                    [s.originator_id for s in stored],
                    [s.originator_version for s in stored],
                    [s.topic for s in stored],
                    [s.state for s in stored],
                ),
            )
    except IntegrityError:
        raise StreamConflict from None
    return keys


def erase_text(
    cursor: Any, store: RecorderEventStore, keys: Sequence[str], streams: Sequence[str]
) -> None:
    """In the caller's transaction: the data keys destroyed, and the text of `streams`'
    events stored in the clear before data keys rewritten out of them in place.

    Only events up to llmchat_keys_since (the log's head when data keys came) are
    rewritten, and each rewrite is recorded (the new state's hash) for `audit verify`,
    which names them instead of calling them forgeries; it takes no rewrite after that
    position. Ids, versions, positions, timestamps and request origins stay.
    """
    destroy_keys(cursor, keys)
    changed = [
        (store.restate(recorded, erased), UUID(stream_id), recorded.version)
        for stream_id in streams
        for recorded in store.read(stream_id)
        if recorded.data_key is None and (erased := redacted(recorded.event)) != recorded.event
    ]
    if not changed:
        return
    # Appends lock the table before they write; these updates write before the append
    # locks it, so two erasures at once would each wait for the other.
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (EXPIRY_LOCK,))
    cursor.executemany(
        f"WITH rewritten AS (UPDATE {EVENTS_TABLE} SET state = %s"
        " WHERE originator_id = %s AND originator_version = %s"
        " AND notification_id <= (SELECT position FROM llmchat_keys_since)"
        " RETURNING notification_id, state)"
        " INSERT INTO llmchat_event_rewrites (position, state_hash)"
        " SELECT notification_id, encode(sha256(state), 'hex') FROM rewritten"
        " ON CONFLICT (position) DO UPDATE SET state_hash = excluded.state_hash,"
        " rewritten_at = now()",
        changed,
    )


def sweep(
    store: RecorderEventStore,
    datastore: PostgresDatastore,
    keys: PostgresDataKeys,
    clock: Clock,
    days: float,
) -> int:
    idle = PostgresIdleConversations(datastore)
    expiry = PostgresExpiry(datastore, store, keys)
    return expire_conversations(store, idle, expiry, clock, days)


def keep_sweeping(
    store: RecorderEventStore,
    datastore: PostgresDatastore,
    keys: PostgresDataKeys,
    clock: Clock,
    days: float,
    stop: threading.Event,
) -> threading.Thread:
    """Expire idle conversations every SWEEP_SECONDS until `stop` is set."""

    def run() -> None:
        while not stop.wait(SWEEP_SECONDS):
            try:
                expired = sweep(store, datastore, keys, clock, days)
                if expired:
                    log.info("retention: %d conversations expired", expired)
            except Exception as error:  # the database may be down; the next sweep retries
                log.warning("retention sweep failed: %s", error)

    thread = threading.Thread(target=run, name="retention", daemon=True)
    thread.start()
    return thread
