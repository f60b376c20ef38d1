"""Verifying the seal chain from the raw tables: llmchat_events against llmchat_event_seals.

Read-only: where the sealer never ran (no seal table), the answer is that nothing is sealed.
The walk goes position by position over both tables at once; each position is checked
against the seal stored before it, so every altered, deleted, inserted or moved event is
named where it is, not only the first (a rewritten chain is what checkpoints catch).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from projections.seal_chain import GENESIS, Break, RawEvent, Seal, check_link
from projections.sealer import SEALS_TABLE, raw_events, row_tuple

PAGE = 5000
# Breaks kept to show; the count goes on past them.
SHOWN = 100


@dataclass
class EventChainCheck:
    """What the walk found: `position` is the last sealed position (verified to), `seal`
    the seal there; the events after it up to `log_head` are not sealed yet."""

    sealing: bool = False  # False: the sealer never ran on this database
    sealed: int = 0
    position: int = 0
    seal: str = GENESIS
    log_head: int = 0
    unsealed: int = 0
    broken: int = 0
    breaks: list[Break] = field(default_factory=list)
    rewritten: list[int] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken == 0

    def found(self, broken: Break) -> None:
        self.broken += 1
        if len(self.breaks) < SHOWN:
            self.breaks.append(broken)


def table_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row_tuple(row)[0])


def seal_page(conn: psycopg.Connection[Any], after: int) -> list[Seal]:
    rows = conn.execute(
        f"SELECT position, state_hash, previous, seal FROM {SEALS_TABLE}"
        " WHERE position > %s ORDER BY position LIMIT %s",
        (after, PAGE),
    ).fetchall()
    return [Seal(*row_tuple(row)) for row in rows]


def rewrites(conn: psycopg.Connection[Any], after: int, upto: int) -> dict[int, str]:
    """The recorded rewrites the chain takes: only of events an older main stored in the
    clear (up to llmchat_keys_since), whose text retention or erasure took out in place.
    Since data keys, erasure destroys keys and a rewrite is a forgery like any other."""
    if not table_exists(conn, "llmchat_event_rewrites"):
        return {}
    since = "(SELECT position FROM llmchat_keys_since)"
    if not table_exists(conn, "llmchat_keys_since"):
        since = "position"  # no start of this version yet: every event is in the clear
    rows = conn.execute(
        "SELECT position, state_hash FROM llmchat_event_rewrites"
        f" WHERE position > %s AND position <= %s AND position <= {since}",
        (after, upto),
    ).fetchall()
    return {int(p): str(h) for p, h in map(row_tuple, rows)}


def merged(
    events: list[RawEvent], seals: list[Seal]
) -> Iterator[tuple[int, RawEvent | None, Seal | None]]:
    """Both tables' rows by position, each position once."""
    by_event = {e.position: e for e in events}
    by_seal = {s.position: s for s in seals}
    for position in sorted(by_event.keys() | by_seal.keys()):
        yield position, by_event.get(position), by_seal.get(position)


def check_event_chain(conn: psycopg.Connection[Any]) -> EventChainCheck:
    """The whole chain, in the caller's transaction (give it one snapshot: REPEATABLE READ)."""
    checked = EventChainCheck()
    if not table_exists(conn, "llmchat_events"):
        return checked
    row = conn.execute("SELECT COALESCE(MAX(notification_id), 0) FROM llmchat_events").fetchone()
    checked.log_head = int(row_tuple(row)[0]) if row else 0
    checked.sealing = table_exists(conn, SEALS_TABLE)
    if checked.sealing:
        walk(conn, checked)
    row = conn.execute(
        "SELECT count(*) FROM llmchat_events WHERE notification_id > %s", (checked.position,)
    ).fetchone()
    checked.unsealed = int(row_tuple(row)[0]) if row else 0
    return checked


def walk(conn: psycopg.Connection[Any], checked: EventChainCheck) -> None:
    previous, after = GENESIS, 0
    while seals := seal_page(conn, after):
        upto = seals[-1].position
        # Every event of the stretch, however many were inserted into it.
        events = raw_events(conn, after, None, upto)
        rewritten = rewrites(conn, after, upto)
        for position, event, seal in merged(events, seals):
            broken = check_link(event, seal, previous, rewritten.get(position))
            if broken is not None:
                checked.found(broken)
            elif event and seal and event.state_hash != seal.state_hash:
                checked.rewritten.append(position)
            if seal is not None:
                previous = seal.seal
                checked.sealed += 1
        checked.position, checked.seal, after = upto, previous, upto
