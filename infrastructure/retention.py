"""Retention in PostgreSQL: which conversations are idle, and erasing text in stored events."""

import logging
import threading
from datetime import datetime
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from application.expire_conversations import expire_conversations
from application.ports import Clock
from domain.conversation import redacted
from infrastructure.event_store import RecorderEventStore, iso_millis
from infrastructure.postgres import EVENTS_TABLE

log = logging.getLogger("llmchat.retention")

SWEEP_SECONDS = 600


class PostgresIdleConversations:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def idle_since(self, cutoff: datetime) -> list[tuple[str, str]]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT session_id, COALESCE(last_message_at, created_at) AS active"
                " FROM llmchat_conversations"
                " WHERE COALESCE(last_message_at, created_at) < %s ORDER BY active",
                (cutoff,),
            ).fetchall()
        return [(str(row["session_id"]), iso_millis(row["active"])) for row in rows]


class PostgresTextEraser:
    """Rewrites a stream's stored events in place, text removed, everything else as it was.

    The one place that changes stored history, and only to take words out: ids, versions,
    positions, timestamps and request origins stay, so projections and the audit trail built
    from the erased events come out the same apart from the text.
    """

    def __init__(self, datastore: PostgresDatastore, store: RecorderEventStore) -> None:
        self.datastore = datastore
        self.store = store

    def erase(self, stream_id: str) -> int:
        changed = [
            (self.store.restate(recorded, erased), UUID(stream_id), recorded.version)
            for recorded in self.store.read(stream_id)
            if (erased := redacted(recorded.event)) != recorded.event
        ]
        if changed:
            with self.datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {EVENTS_TABLE} SET state = %s"
                    " WHERE originator_id = %s AND originator_version = %s",
                    changed,
                )
        return len(changed)


def sweep(
    store: RecorderEventStore, datastore: PostgresDatastore, clock: Clock, days: float
) -> int:
    idle = PostgresIdleConversations(datastore)
    return expire_conversations(store, idle, PostgresTextEraser(datastore, store), clock, days)


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
