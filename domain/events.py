"""The catalogue of stored event types, each under a stable name.

Replay looks events up by the name stored with them, so a class can be moved or renamed
without breaking history: the name passed to `stored_as` must never change.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

_CATALOGUE: dict[str, type[Any]] = {}
_NAMES: dict[type[Any], str] = {}

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as the log holds it: where it stands and when it happened."""

    stream_id: str
    version: int
    position: int
    timestamp: str
    event: object
    # Where the request that appended it came from (ip, userAgent, requestId, userId), kept
    # beside the payload; None for events written outside a request, and for older events.
    meta: dict[str, str] | None = None
    # The data key its personal content is encrypted with (None: stored in the clear, as
    # events written before data keys were), and whether that key is destroyed: the event
    # is then what is left of it without that content (domain/personal.py).
    data_key: str | None = None
    erased: bool = False


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stands in a Recorded for an event whose stored state cannot be decoded (not JSON, a
    shape its type no longer has, a name no type is stored under): readers of the whole log
    report it by its position and go on, instead of stopping at it."""

    topic: str
    error: str


def stored_as(name: str) -> Callable[[type[E]], type[E]]:
    def register(cls: type[E]) -> type[E]:
        if name in _CATALOGUE and _CATALOGUE[name] is not cls:
            raise ValueError(f"event name {name!r} is already taken by {_CATALOGUE[name]!r}")
        _CATALOGUE[name] = cls
        _NAMES[cls] = name
        return cls

    return register


def name_of(event: object) -> str:
    return _NAMES[type(event)]


def event_type(name: str) -> type[Any]:
    return _CATALOGUE[name]


def known_names() -> list[str]:
    return sorted(_CATALOGUE)
