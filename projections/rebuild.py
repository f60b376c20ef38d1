"""Rebuild a read model from the log, also while servers and workers run.

The rebuild takes the projection's advisory lock (a following worker notices the waiter and
hands the lock over within a poll interval), then in one transaction empties the tables,
applies the whole log and records the position reached. Readers meanwhile see the old rows
(DELETE, unlike TRUNCATE, leaves other transactions their snapshot) and then the new ones,
never a half-built model. Workers resume from the new position once the lock is released.

An event the rebuild cannot apply is quarantined, as the live runner does, and the rebuild
goes on. Events quarantined before are applied again with the rest: those a fix now lets
apply leave the quarantine.
"""

from collections.abc import Callable
from dataclasses import dataclass

from projections import quarantine
from projections.projection import Projection
from projections.runner import (
    BATCH,
    ProjectionRunner,
    applied_position,
    apply_quarantining,
    lock_key,
)

# Progress: (projection name, position reached, head of the log when the rebuild began).
Progress = Callable[[str, int, int], None]

# How long to wait for the lock: long enough for a worker to finish a batch and notice.
LOCK_WAIT = "60s"


@dataclass(frozen=True, slots=True)
class Rebuilt:
    name: str
    events: int
    position: int
    # Events it could not apply, in the quarantine now (projections/quarantine.py).
    quarantined: tuple[quarantine.Quarantined, ...] = ()


def rebuild(
    runner: ProjectionRunner, projection: Projection, progress: Progress | None = None
) -> Rebuilt:
    with runner.datastore.get_connection() as lock_conn:
        lock_conn.execute(f"SET lock_timeout = '{LOCK_WAIT}'")
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(projection.name),))
        try:
            return rebuild_while_locked(runner, projection, progress)
        finally:
            # A pooled connection: leave it as it was found, without our lock.
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(projection.name),))
            lock_conn.execute("RESET lock_timeout")


def rebuild_while_locked(
    runner: ProjectionRunner, projection: Projection, progress: Progress | None
) -> Rebuilt:
    head = runner.store.last_position()
    position, events = 0, 0
    failed: list[quarantine.Quarantined] = []
    with (
        runner.datastore.get_connection() as conn,
        conn.transaction(),
        conn.cursor() as cursor,
    ):
        # The position row's lock also keeps out anyone applying batches without the
        # advisory lock: they wait, then see that the position moved and skip their batch.
        applied_position(cursor, projection.name, lock=True)
        for table in projection.tables:
            cursor.execute(f"DELETE FROM {table}")
        # Every quarantined event is tried again with the rest: a fixed bug heals here.
        quarantine.release_all(cursor, projection.name)
        while position < head:
            batch = runner.store.read_all(position, BATCH)
            if not batch:
                break
            failed += apply_quarantining(conn, cursor, projection, batch)
            position, events = batch[-1].position, events + len(batch)
            if progress is not None:
                progress(projection.name, position, head)
        # lag_ms stays as the live runner measured it: a rebuild says nothing about freshness.
        cursor.execute(
            "UPDATE llmchat_projection_positions SET position = %s, applied_at = now()"
            " WHERE name = %s",
            (position, projection.name),
        )
    return Rebuilt(projection.name, events, position, tuple(failed))
