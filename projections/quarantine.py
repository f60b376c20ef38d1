"""Events a projection could not apply: recorded with their position and the error, skipped.

An event is forever, so one that a projection cannot apply (text PostgreSQL refuses, an id
its uuid type does not read, a stored state that no longer decodes, a bug in the projection)
would otherwise stop that projection for good. The runner records it here instead, in the
transaction that moves the projection past it, and the projection goes on. A rebuild empties
the projection's rows here and applies the whole log again: what applies now leaves the
quarantine, what still fails is recorded again.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing import persistence
from psycopg import Cursor

from domain.events import Recorded, Unreadable, name_of
from projections.projection import row_values

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS llmchat_projection_quarantine (
    name text NOT NULL,
    position bigint NOT NULL,
    stream_id text NOT NULL,
    version bigint NOT NULL,
    event_type text NOT NULL,
    error text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, position)
)""",
)
# Enough to tell what went wrong; an error can echo a whole event's text.
ERROR_CHARS = 500

# Errors that say the database or the connection failed, not the event: the batch is tried
# again later, as it always was. Everything else an apply raises is the event's.
OUTAGES: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    OSError,
)


def is_outage(error: BaseException) -> bool:
    """True when `error`, or one it was raised from, is the database's, not the event's."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OUTAGES):
            return True
        seen = seen.__cause__
    return False


@dataclass(frozen=True, slots=True)
class Quarantined:
    position: int
    stream_id: str
    version: int
    event_type: str
    error: str


def printable(text: str) -> str:
    """The error on one line, as PostgreSQL text can hold it: no NUL, no lone surrogate,
    bounded."""
    text = " ".join(text.replace("\x00", "\\x00").split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def innermost(error: BaseException) -> BaseException:
    """The error the datastore wrapped, if it did: its message names the real problem."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def quarantined(recorded: Recorded, error: BaseException | str) -> Quarantined:
    if isinstance(recorded.event, Unreadable):
        topic = recorded.event.topic
    else:
        topic = name_of(recorded.event)
    if isinstance(error, BaseException):
        cause = innermost(error)
        error = f"{type(cause).__name__}: {cause}"
    return Quarantined(
        recorded.position, recorded.stream_id, recorded.version, topic, printable(error)
    )


def record(cursor: Cursor[Any], name: str, events: Sequence[Quarantined]) -> None:
    if not events:
        return
    cursor.executemany(
        "INSERT INTO llmchat_projection_quarantine"
        " (name, position, stream_id, version, event_type, error) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (name, position) DO UPDATE SET error = EXCLUDED.error,"
        " quarantined_at = now()",
        [(name, q.position, q.stream_id, q.version, q.event_type, q.error) for q in events],
    )


def release_all(cursor: Cursor[Any], name: str) -> None:
    """At a rebuild: every event is applied again, so none stays quarantined on its own."""
    cursor.execute("DELETE FROM llmchat_projection_quarantine WHERE name = %s", (name,))


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    name: str
    event: Quarantined


def quarantine_entries(cursor: Cursor[Any], limit: int) -> tuple[list[QuarantineEntry], int]:
    """The first `limit` quarantined events in log order, and how many there are."""
    total_row = cursor.execute("SELECT count(*) FROM llmchat_projection_quarantine").fetchone()
    rows = cursor.execute(
        "SELECT name, position, stream_id, version, event_type, error"
        " FROM llmchat_projection_quarantine ORDER BY position, name LIMIT %s",
        (limit,),
    ).fetchall()
    entries = []
    for row in rows:
        name, position, stream_id, version, event_type, error = row_values(row)
        entries.append(
            QuarantineEntry(
                str(name),
                Quarantined(int(position), str(stream_id), int(version), event_type, error),
            )
        )
    return entries, int(row_values(total_row)[0]) if total_row else 0


def quarantine_counts(cursor: Cursor[Any]) -> dict[str, int]:
    rows = cursor.execute(
        "SELECT name, count(*) FROM llmchat_projection_quarantine GROUP BY name"
    ).fetchall()
    return {str(row_values(row)[0]): int(row_values(row)[1]) for row in rows}
