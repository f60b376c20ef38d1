"""The sealer: a projection of the raw log into the seal chain (projections/seal_chain.py).

It trails the log by milliseconds instead of sealing inside the append, because the append's
table lock is what every writer queues on: work added under it is paid by every reply's
first chunk and by the log's throughput (docs/benchmarks.md, "Sealing"). Commits land in
position order (the same lock), so reading past the last seal never skips an event.

Like the read-model projections it follows the log's NOTIFY (polling as a fallback) under a
PostgreSQL advisory lock, so any number of workers may run it and one seals at a time. It
reads raw rows by SQL, never decoded events: the seal covers the bytes as stored, and an
event no projection can read is sealed like any other. A log written before sealing
existed is sealed from its first event when the sealer first runs.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from projections.runner import POLL_SECONDS, lock_key, wait_for_appends
from projections.seal_chain import GENESIS, RawEvent, Seal, sealed

log = logging.getLogger("llmchat.sealer")

SEALS_TABLE = "llmchat_event_seals"
SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {SEALS_TABLE} (
        position bigint PRIMARY KEY,
        state_hash text NOT NULL,
        previous text NOT NULL,
        seal text NOT NULL,
        sealed_at timestamptz NOT NULL DEFAULT now()
    )""",
)
BATCH = 2000
LOCK = lock_key("sealer")

# The state's hash is taken by PostgreSQL: the bytes hashed are exactly those stored, and
# they need not travel.
RAW_EVENTS = """SELECT notification_id, originator_id::text, originator_version, topic,
    encode(sha256(state), 'hex') FROM llmchat_events
    WHERE notification_id > %s AND (%s::bigint IS NULL OR notification_id <= %s)
    ORDER BY notification_id LIMIT %s"""
HEAD = f"SELECT position, seal FROM {SEALS_TABLE} ORDER BY position DESC LIMIT 1"
INSERT = f"""INSERT INTO {SEALS_TABLE} (position, state_hash, previous, seal)
    SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[])"""


def raw_events(
    conn: psycopg.Connection[Any], after: int, limit: int | None, upto: int | None = None
) -> list[RawEvent]:
    """The events after `after` (up to `upto`), at most `limit` (None: all)."""
    rows = conn.execute(RAW_EVENTS, (after, upto, upto, limit)).fetchall()
    return [RawEvent(*row_tuple(row)) for row in rows]


def row_tuple(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def sealed_head(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    """The last sealed position and its seal; (0, GENESIS) before the first."""
    row = conn.execute(HEAD).fetchone()
    if row is None:
        return 0, GENESIS
    position, seal = row_tuple(row)
    return int(position), str(seal)


def seal_batch(conn: psycopg.Connection[Any]) -> int:
    """Seal up to BATCH events after the last seal, in one transaction; how many."""
    with conn.transaction():
        position, previous = sealed_head(conn)
        events = raw_events(conn, position, BATCH)
        if not events:
            return 0
        seals = sealed(events, previous)
        conn.execute(INSERT, columns(seals))
    return len(seals)


def columns(seals: list[Seal]) -> tuple[list[Any], ...]:
    return (
        [s.position for s in seals],
        [s.state_hash for s in seals],
        [s.previous for s in seals],
        [s.seal for s in seals],
    )


def seal_all(conn: psycopg.Connection[Any]) -> int:
    """Seal everything the log holds now; how many events."""
    total = 0
    while done := seal_batch(conn):
        total += done
        if done < BATCH:
            break
    return total


class Sealer:
    """Follows the log and seals it; `after_catch_up` is called after each catch-up, with
    the connection (the checkpoint writer uses it)."""

    def __init__(
        self,
        conninfo: str,
        channel: str,
        after_catch_up: Callable[[psycopg.Connection[Any]], None] | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.after_catch_up = after_catch_up

    def follow(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    self.follow_on(conn, stop)
            except (psycopg.OperationalError, OSError) as error:
                if not stop.is_set():
                    log.warning("sealing paused: %s", error)
            except Exception:
                log.exception("sealing failed; retrying")
            stop.wait(POLL_SECONDS)

    def follow_on(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        conn.execute(f'LISTEN "{self.channel}"')
        # Another worker seals while it holds the lock; this one waits its turn.
        while not stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK,)).fetchone()
            if row and row[0]:
                break
            stop.wait(POLL_SECONDS)
        while not stop.is_set():
            seal_all(conn)
            if self.after_catch_up is not None:
                self.after_catch_up(conn)
            wait_for_appends(conn, stop)


def start_sealing(sealer: Sealer, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=sealer.follow, args=(stop,), name="sealer", daemon=True)
    thread.start()
    return thread
