"""The seal chain over the event log: each event's seal covers what it is and the seal before it.

    state_hash = sha256(state)            (the bytes of llmchat_events.state, exactly as stored)
    seal = sha256(json([position, stream_id, version, event_name, state_hash, previous_seal]))

Hashes are lowercase hex; the JSON is compact (no spaces), the stream id a canonical UUID,
so anyone can recompute a seal from a raw row with a few lines of any language. The first
event's previous seal is GENESIS. A signed checkpoint (projections/checkpoints.py) carries
one seal and its position: the chain up to there can then be proven unchanged.
"""

import hashlib
from dataclasses import dataclass, replace

import msgspec

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One row of llmchat_events as the chain sees it: the state only by its hash."""

    position: int
    stream_id: str
    version: int
    name: str
    state_hash: str


def seal_of(event: RawEvent, previous: str) -> str:
    covered = [
        event.position,
        event.stream_id,
        event.version,
        event.name,
        event.state_hash,
        previous,
    ]
    return hashlib.sha256(msgspec.json.encode(covered)).hexdigest()


@dataclass(frozen=True, slots=True)
class Seal:
    """A row of llmchat_event_seals: the state hash as it was sealed, and the link."""

    position: int
    state_hash: str
    previous: str
    seal: str


def sealed(events: list[RawEvent], previous: str) -> list[Seal]:
    """Seals for `events` (in log order) following `previous`."""
    seals = []
    for event in events:
        seal = seal_of(event, previous)
        seals.append(Seal(event.position, event.state_hash, previous, seal))
        previous = seal
    return seals


@dataclass(frozen=True, slots=True)
class Break:
    """Where the chain does not hold, and what is wrong there."""

    position: int
    problem: str
    event: RawEvent | None = None


def check_link(
    event: RawEvent | None, seal: Seal | None, previous: str, rewritten: str | None = None
) -> Break | None:
    """One position of the walk: an event, its seal, or both; `previous` is the seal before
    it (as stored, so each break is named where it is, not at every position after it);
    `rewritten` is the state hash retention left in place of the sealed one, if it did."""
    if seal is None:
        assert event is not None
        return Break(event.position, "an event the chain does not hold (inserted)", event)
    if event is None:
        return Break(seal.position, "a sealed event is missing (deleted)")
    if seal.previous != previous:
        return Break(
            seal.position,
            "its seal does not follow the seal before it (a sealed event removed before it,"
            " or the chain rewritten)",
            event,
        )
    # The seal is recomputed from the state hash it sealed: a changed state shows below,
    # on its own, and a changed stream, version or name shows here.
    if seal_of(replace(event, state_hash=seal.state_hash), previous) != seal.seal:
        return Break(
            seal.position,
            "its stream, version or event name is not what was sealed (altered or moved)",
            event,
        )
    if event.state_hash not in (seal.state_hash, rewritten):
        return Break(seal.position, "its stored state is not what was sealed (altered)", event)
    return None
