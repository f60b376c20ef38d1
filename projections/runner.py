"""Applies the event log to each projection, exactly once, one worker per projection at a time.

Each batch of events and the position it reaches commit in one transaction, so a crash or
a replay never applies an event twice. A PostgreSQL advisory lock per projection lets any
number of workers run: one applies, the others wait and take over when its session dies.
New events are announced by the event store's NOTIFY; a one-second poll covers a missed one.
"""

import logging
import threading
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from domain.events import Recorded
from infrastructure.event_store import RecorderEventStore
from projections.projection import Projection

log = logging.getLogger("llmchat.projections")

POSITIONS = """CREATE TABLE IF NOT EXISTS llmchat_projection_positions (
    name text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0,
    applied_at timestamptz,
    lag_ms double precision
)"""
BATCH = 500
POLL_SECONDS = 1.0
GATHER_SECONDS = 0.02


def lag_ms(recorded: Recorded) -> float:
    """How long after its append this event became visible in the read model."""
    appended = datetime.fromisoformat(recorded.timestamp.replace("Z", "+00:00"))
    return (datetime.now(UTC) - appended).total_seconds() * 1000


def apply_all(
    conn: psycopg.Connection[Any],
    cursor: psycopg.Cursor[Any],
    projection: Projection,
    batch: Sequence[Recorded],
) -> None:
    """Apply a batch in pipeline mode: statements go out without waiting for each answer
    (a projection that reads a result still gets it), so a batch costs few round trips."""
    with conn.pipeline():
        for recorded in batch:
            projection.apply(cursor, recorded)


def lock_key(name: str) -> int:
    return zlib.crc32(f"llmchat.projection.{name}".encode())


# A bigint advisory lock shows in pg_locks as classid (high half), objid (low half) and
# objsubid 1; our keys are CRC-32s, so the high half is 0.
WAITERS = """SELECT EXISTS (SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = %s::bigint::oid
    AND objsubid = 1
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"""


def someone_waits_for(conn: psycopg.Connection[Any], name: str) -> bool:
    """True while another session blocks on this projection's lock: only a rebuild blocks
    on it, workers only try it."""
    row = conn.execute(WAITERS, (lock_key(name),)).fetchone()
    return bool(row and row[0])


def applied_position(cursor: psycopg.Cursor[Any], name: str, lock: bool = False) -> int:
    cursor.execute(
        "INSERT INTO llmchat_projection_positions (name) VALUES (%s) ON CONFLICT DO NOTHING",
        (name,),
    )
    suffix = " FOR UPDATE" if lock else ""
    row = cursor.execute(
        "SELECT position FROM llmchat_projection_positions WHERE name = %s" + suffix, (name,)
    ).fetchone()
    assert row is not None
    return int(row["position"] if isinstance(row, dict) else row[0])


class ProjectionRunner:
    def __init__(
        self,
        datastore: PostgresDatastore,
        store: RecorderEventStore,
        channel: str,
        conninfo: str,
    ) -> None:
        self.datastore = datastore
        self.store = store
        self.channel = channel
        self.conninfo = conninfo

    def apply_batch(self, projection: Projection, batch: Sequence[Recorded], expected: int) -> bool:
        """Apply and record the new position atomically; False if another worker moved it."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
            if applied_position(cursor, projection.name, lock=True) != expected:
                return False
            apply_all(conn, cursor, projection, batch)
            lag = lag_ms(batch[-1])
            cursor.execute(
                "UPDATE llmchat_projection_positions SET position = %s, applied_at = now(),"
                " lag_ms = %s WHERE name = %s",
                (batch[-1].position, lag, projection.name),
            )
        return True

    def position(self, projection: Projection) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            return applied_position(cursor, projection.name)

    def catch_up(self, projection: Projection, limit: int | None = None) -> int:
        """Apply everything not yet applied (up to `limit` events); returns how many."""
        applied = 0
        while limit is None or applied < limit:
            position = self.position(projection)
            size = BATCH if limit is None else min(BATCH, limit - applied)
            batch = self.store.read_all(position, size)
            if not batch:
                break
            if self.apply_batch(projection, batch, position):
                applied += len(batch)
        return applied

    def follow(self, projection: Projection, stop: threading.Event) -> None:
        """Hold this projection's lock and keep it current until `stop` is set."""
        while not stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    self.follow_while_locked(conn, projection, stop)
            except (psycopg.OperationalError, OSError) as error:
                log.warning("projection %s paused: %s", projection.name, error)
            except Exception:
                log.exception("projection %s failed; retrying", projection.name)
            stop.wait(POLL_SECONDS)

    def follow_while_locked(
        self, conn: psycopg.Connection[Any], projection: Projection, stop: threading.Event
    ) -> None:
        locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(projection.name),))
        row = locked.fetchone()
        if not row or not row[0]:
            return  # another worker applies it; try again after the poll interval
        conn.execute(f'LISTEN "{self.channel}"')
        next_handover_check = 0.0
        while not stop.is_set():
            self.catch_up(projection)
            # Asked at most every POLL_SECONDS, not on every wake-up under load.
            if time.monotonic() >= next_handover_check:
                next_handover_check = time.monotonic() + POLL_SECONDS
                if someone_waits_for(conn, projection.name):
                    # A rebuild (projections/rebuild.py) asked for this projection: closing
                    # our connection hands it the lock; we try again after the poll interval.
                    log.info("projection %s: handing over to a rebuild", projection.name)
                    return
            for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1):
                # Let a burst of appends gather: one catch-up then applies them all,
                # instead of one wake-up per append competing with the API for the CPU.
                stop.wait(GATHER_SECONDS)


def start_threads(
    runner: ProjectionRunner, projections: Sequence[Projection], stop: threading.Event
) -> list[threading.Thread]:
    threads = [
        threading.Thread(
            target=runner.follow, args=(p, stop), name=f"projection-{p.name}", daemon=True
        )
        for p in projections
    ]
    for thread in threads:
        thread.start()
    return threads


def wait_until_current(
    runner: ProjectionRunner, projections: Sequence[Projection], timeout: float = 10
) -> bool:
    """True once every projection has applied what the log held when this was called."""
    target = runner.store.last_position()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(runner.position(p) >= target for p in projections):
            return True
        time.sleep(0.02)
    return False
