"""Applies the event log to each projection, exactly once, one worker per projection at a time.

Each batch of events and the position it reaches commit in one transaction, so a crash or
a replay never applies an event twice. An event a projection cannot apply is quarantined
(projections/quarantine.py) and that projection goes on past it; the others never wait for
it. A PostgreSQL advisory lock per projection lets any number of workers run: one applies,
the others wait and take over when its session dies.
New events are announced by the event store's NOTIFY; a one-second poll covers a missed one.
"""

import logging
import threading
import time
import zlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from domain.events import Recorded, Unreadable
from infrastructure.event_store import RecorderEventStore
from projections import quarantine
from projections.projection import Projection, row_values
from projections.quarantine import innermost, is_outage

log = logging.getLogger("llmchat.projections")

# Raised by llmchat_claim_projection when another session applied the batch first.
MOVED = "LLM01"
POSITIONS = (
    """CREATE TABLE IF NOT EXISTS llmchat_projection_positions (
    name text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0,
    applied_at timestamptz,
    lag_ms double precision
)""",
    # Locks the projection's row and fails unless it stands where the batch begins: in a
    # pipeline, a failed statement stops everything sent after it, so the batch can go out
    # behind this without waiting for its answer.
    f"""CREATE OR REPLACE FUNCTION llmchat_claim_projection(claimed text, expected bigint)
    RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM llmchat_projection_positions
            WHERE name = claimed AND position = expected FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'projection % moved', claimed USING ERRCODE = '{MOVED}';
        END IF;
    END $$""",
    *quarantine.SCHEMA,
)
BATCH = 500
POLL_SECONDS = 1.0
GATHER_SECONDS = 0.02


# A projection, the events it has yet to apply, and the position they follow.
Batch = tuple[Projection, Sequence[Recorded], int]


def apply_all(
    conn: psycopg.Connection[Any],
    cursor: psycopg.Cursor[Any],
    projection: Projection,
    batch: Sequence[Recorded],
) -> None:
    """Apply a batch in pipeline mode: statements go out without waiting for each answer
    (a projection that reads a result still gets it), so a batch costs few round trips."""
    with conn.pipeline():
        projection.apply(cursor, batch)


def split_unreadable(
    batch: Sequence[Recorded],
) -> tuple[Sequence[Recorded], list[quarantine.Quarantined]]:
    """The events a projection can be given, and those it cannot (their state does not
    decode), ready for the quarantine."""
    unreadable = [
        quarantine.quarantined(r, f"unreadable: {r.event.error}")
        for r in batch
        if isinstance(r.event, Unreadable)
    ]
    if not unreadable:
        return batch, []
    return [r for r in batch if not isinstance(r.event, Unreadable)], unreadable


def apply_quarantining(
    conn: psycopg.Connection[Any],
    cursor: psycopg.Cursor[Any],
    projection: Projection,
    batch: Sequence[Recorded],
) -> list[quarantine.Quarantined]:
    """Apply a batch inside the caller's transaction, never failing on an event: the batch
    is tried under a savepoint, and should one of its events fail, each event under a
    savepoint of its own. The events that failed are recorded in the quarantine and returned.

    Applying events one by one gives the rows applying them together gives: a projection's
    batch is only a way to save round trips (projections/projection.py).
    """
    readable, failed = split_unreadable(batch)
    try:
        with conn.transaction():
            if readable:
                apply_all(conn, cursor, projection, readable)
    except Exception as error:
        if is_outage(error):
            raise
        for recorded in readable:
            try:
                with conn.transaction():
                    projection.apply(cursor, [recorded])
            except Exception as event_error:
                if is_outage(event_error):
                    raise
                failed.append(quarantine.quarantined(recorded, event_error))
        failed.sort(key=lambda q: q.position)
    quarantine.record(cursor, projection.name, failed)
    return failed


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a database error, also when the datastore wrapped it in its own."""
    while error is not None:
        if isinstance(error, psycopg.Error):
            return error.sqlstate
        error = error.__cause__  # type: ignore[assignment]
    return None


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


def position_of(row: Any) -> int:
    return int(row_values(row)[0])


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
    return position_of(row)


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

    def apply_batches(self, work: Sequence[Batch]) -> bool:
        """Apply each projection's batch and record where it reached, all in one transaction;
        False, applying nothing, if another session moved any of them first.

        Should an event fail to apply, the work is done again projection by projection, each
        in its own transaction with the events it cannot apply quarantined (apply_alone): one
        event stops neither its projection nor the others.

        The commit does not wait for the WAL flush: read models and their positions commit
        together, so a crash can only lose both, and the log, which is durable, replays them.
        """
        try:
            self.apply_together(work)
        except Exception as error:
            if sqlstate_of(error) == MOVED:
                return False
            if is_outage(error):
                raise
            log.warning(
                "projections: an event failed to apply (%s); applying each on its own",
                innermost(error),
            )
        else:
            return True
        # Every projection is tried, whichever of them another session moved meanwhile.
        applied = [self.apply_alone(*batch) for batch in work]
        return all(applied)

    def apply_together(self, work: Sequence[Batch]) -> None:
        """The usual case: every batch in one pipelined transaction, one commit."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.pipeline(),
            conn.cursor() as cursor,
        ):
            cursor.execute("SET LOCAL synchronous_commit = off")
            for projection, batch, expected in work:
                cursor.execute(
                    "SELECT llmchat_claim_projection(%s, %s)", (projection.name, expected)
                )
                readable, unreadable = split_unreadable(batch)
                if readable:
                    projection.apply(cursor, readable)
                quarantine.record(cursor, projection.name, unreadable)
                self.advance(cursor, projection, batch)

    def apply_alone(self, projection: Projection, batch: Sequence[Recorded], expected: int) -> bool:
        """One projection's batch in a transaction of its own, the events it cannot apply
        quarantined; False if another session moved the projection first."""
        try:
            with (
                self.datastore.get_connection() as conn,
                conn.transaction(),
                conn.cursor() as cursor,
            ):
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(
                    "SELECT llmchat_claim_projection(%s, %s)", (projection.name, expected)
                )
                failed = apply_quarantining(conn, cursor, projection, batch)
                for event in failed:
                    log.error(
                        "projection %s: event at position %d (%s) quarantined: %s",
                        projection.name,
                        event.position,
                        event.event_type,
                        event.error,
                    )
                self.advance(cursor, projection, batch)
        except Exception as error:
            if sqlstate_of(error) == MOVED:
                return False
            raise
        return True

    @staticmethod
    def advance(
        cursor: psycopg.Cursor[Any], projection: Projection, batch: Sequence[Recorded]
    ) -> None:
        # The oldest event of the batch waited longest: its lag is the batch's (an unreadable
        # event has no timestamp; the lag then stays as it was).
        oldest = next((r.timestamp for r in batch if r.timestamp), None)
        cursor.execute(
            "UPDATE llmchat_projection_positions SET position = %s, applied_at = now(),"
            " lag_ms = COALESCE(extract(epoch FROM clock_timestamp() - %s::timestamptz) * 1000,"
            " lag_ms) WHERE name = %s",
            (batch[-1].position, oldest, projection.name),
        )

    def positions(self, projections: Sequence[Projection]) -> dict[str, int]:
        """Where each projection stands, in one round trip."""
        names = [p.name for p in projections]
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO llmchat_projection_positions (name) SELECT unnest(%s::text[])"
                " ON CONFLICT DO NOTHING",
                (names,),
            )
            rows = cursor.execute(
                "SELECT name, position FROM llmchat_projection_positions WHERE name = ANY(%s)",
                (names,),
            ).fetchall()
        return {str(row_values(row)[0]): int(row_values(row)[1]) for row in rows}

    def position(self, projection: Projection) -> int:
        return self.positions([projection])[projection.name]

    def catch_up(self, projection: Projection, limit: int | None = None) -> int:
        """Apply everything not yet applied (up to `limit` events); returns how many."""
        applied = 0
        while limit is None or applied < limit:
            position = self.position(projection)
            size = BATCH if limit is None else min(BATCH, limit - applied)
            batch = self.store.read_all(position, size)
            if not batch:
                break
            if self.apply_batches([(projection, batch, position)]):
                applied += len(batch)
        return applied

    def catch_up_all(
        self, projections: Sequence[Projection], known: dict[str, int] | None = None
    ) -> dict[str, int]:
        """Bring several projections up to the log's head, reading each event once for all:
        decoding the log is much of the work, and they mostly stand at the same position.

        `known` are positions from the last catch-up, saving a round trip; should another
        session have moved one since, the batch's claim fails and they are read afresh.
        Returns the positions reached.
        """
        positions = dict(known) if known else self.positions(projections)
        while projections:
            batch = self.store.read_all(min(positions.values()), BATCH)
            work = [
                (projection, behind, positions[projection.name])
                for projection in projections
                if (behind := [r for r in batch if r.position > positions[projection.name]])
            ]
            # One transaction for all: one commit per catch-up, not one per projection.
            if work and self.apply_batches(work):
                positions.update((p.name, b[-1].position) for p, b, _ in work)
            elif work:
                positions = self.positions(projections)
                continue
            if len(batch) < BATCH:
                break
        return positions

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
        positions: dict[str, int] | None = None
        next_lock_check = 0.0
        while not stop.is_set():
            # Asked at most every POLL_SECONDS, not on every wake-up under load.
            if time.monotonic() >= next_lock_check:
                next_lock_check = time.monotonic() + POLL_SECONDS
                held = self.settle_locks(conn, projections, held)
                positions = None  # a rebuild may have had a projection meanwhile
            positions = self.catch_up_all(held, positions)
            wait_for_appends(conn, stop)

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


def wait_for_appends(conn: psycopg.Connection[Any], stop: threading.Event) -> None:
    """Return once an append is announced, or after POLL_SECONDS.

    Then let the burst gather: one catch-up applies it all, instead of one wake-up per
    append competing with the API for the CPU. Every notification that came meanwhile is
    taken at once (the catch-up that follows reads the log, not them): a busy log sends
    hundreds per catch-up, and waiting once per notification fell seconds behind.
    """
    if not any(True for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1)):
        return
    stop.wait(GATHER_SECONDS)
    for _ in conn.notifies(timeout=0):
        pass


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
