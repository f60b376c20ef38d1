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

    def catch_up_all(self, projections: Sequence[Projection]) -> None:
        """Bring several projections up to the log's head, reading each event once for all:
        decoding the log is much of the work, and they mostly stand at the same position."""
        while projections:
            positions = {p.name: self.position(p) for p in projections}
            batch = self.store.read_all(min(positions.values()), BATCH)
            for projection in projections:
                behind = [r for r in batch if r.position > positions[projection.name]]
                if behind:
                    self.apply_batch(projection, behind, positions[projection.name])
            if len(batch) < BATCH:
                return

    def follow(self, projections: Sequence[Projection], stop: threading.Event) -> None:
        """Keep every projection whose lock this process holds current, until `stop`.

        One thread and one listening connection serve them all: the locks are per
        projection, so several workers share the projections out between them.
        """
        while not stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    self.follow_on(conn, projections, stop)
            except (psycopg.OperationalError, OSError) as error:
                if not stop.is_set():  # at shutdown the database may go first; that is no news
                    log.warning("projections paused: %s", error)
            except Exception:
                log.exception("projections failed; retrying")
            stop.wait(POLL_SECONDS)

    def follow_on(
        self,
        conn: psycopg.Connection[Any],
        projections: Sequence[Projection],
        stop: threading.Event,
    ) -> None:
        conn.execute(f'LISTEN "{self.channel}"')
        held: list[Projection] = []
        next_lock_check = 0.0
        while not stop.is_set():
            # Asked at most every POLL_SECONDS, not on every wake-up under load.
            if time.monotonic() >= next_lock_check:
                next_lock_check = time.monotonic() + POLL_SECONDS
                held = self.settle_locks(conn, projections, held)
            self.catch_up_all(held)
            for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1):
                # Let a burst of appends gather: one catch-up then applies them all,
                # instead of one wake-up per append competing with the API for the CPU.
                stop.wait(GATHER_SECONDS)

    @staticmethod
    def settle_locks(
        conn: psycopg.Connection[Any], projections: Sequence[Projection], held: list[Projection]
    ) -> list[Projection]:
        """Take the locks nobody holds; give up those a rebuild is waiting for."""
        keep = []
        for projection in projections:
            key = lock_key(projection.name)
            if projection in held:
                if someone_waits_for(conn, projection.name):
                    # A rebuild (projections/rebuild.py) blocks on this lock: hand it over;
                    # we take it back once the rebuild is done with it.
                    log.info("projection %s: handing over to a rebuild", projection.name)
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    continue
                keep.append(projection)
                continue
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                keep.append(projection)
        return keep


def start_threads(
    runner: ProjectionRunner, projections: Sequence[Projection], stop: threading.Event
) -> list[threading.Thread]:
    thread = threading.Thread(
        target=runner.follow, args=(projections, stop), name="projections", daemon=True
    )
    thread.start()
    return [thread]


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
