"""What every aggregate shares: it is rebuilt from its history one way, and it keeps the
events it decides (each with the version it will take in its stream) until a repository
saves them.

An aggregate subclass names the event its stream starts with (`starts_with`), builds itself
from that event (`started`, before the event is applied) and changes by one event at a time
(`apply`). Its decisions call `trigger`, which applies the event at once and keeps it
pending, so the aggregate's state and version always include what it has decided.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple, Self, TypeVar

E = TypeVar("E")


class PendingEvent(NamedTuple):
    """An event to append as `version` of its stream (1 for a new stream)."""

    stream_id: str
    version: int
    event: object


@dataclass(slots=True, kw_only=True)
class Aggregate(ABC):
    starts_with: ClassVar[type[Any]] = object

    id: str
    # The version of the newest event applied, saved or pending (0: nothing yet).
    version: int = 0
    pending: list[PendingEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    @abstractmethod
    def started(cls, first: Any, timestamp: str) -> Self:
        """The aggregate as its first event makes it, before that event is applied."""

    @classmethod
    def from_first(cls, first: object, **more: Any) -> Self:
        """For `started`: every field the first event has by the aggregate's own name, and
        `more` for the rest (its id, a time, a value derived from the event)."""
        names = {f.name for f in fields(cls) if f.init} - more.keys()
        return cls(**{n: getattr(first, n) for n in names if hasattr(first, n)}, **more)

    @abstractmethod
    def apply(self, event: object, timestamp: str) -> None:
        """Change by one event (the version is counted by the caller)."""

    @classmethod
    def replay(cls, history: Iterable[tuple[object, str]]) -> Self:
        """Rebuild from (event, timestamp) pairs, oldest first."""
        events = iter(history)
        first, timestamp = next(events)
        if not isinstance(first, cls.starts_with):
            raise ValueError(f"a {cls.__name__}'s history starts with {cls.starts_with.__name__}")
        aggregate = cls.started(first, timestamp)
        aggregate.applied(first, timestamp)
        for event, at in events:
            aggregate.applied(event, at)
        return aggregate

    @classmethod
    def begin(cls, first: Any, timestamp: str = "") -> Self:
        """A new aggregate whose stream `first` will start when it is saved."""
        aggregate = cls.replay([(first, timestamp)])
        aggregate.pending.append(PendingEvent(aggregate.stream_id, 1, first))
        return aggregate

    @property
    def stream_id(self) -> str:
        """The stream it is stored in: its id, unless its ids are not the log's (agents)."""
        return self.id

    def applied(self, event: object, timestamp: str) -> None:
        self.apply(event, timestamp)
        self.version += 1

    def trigger(self, event: E, timestamp: str = "") -> E:
        """Apply a decided event now and keep it for the repository to save."""
        self.applied(event, timestamp)
        self.pending.append(PendingEvent(self.stream_id, self.version, event))
        return event

    def collect(self) -> list[PendingEvent]:
        """The pending events, handed over once (the repository calls this as it saves)."""
        pending, self.pending = self.pending, []
        return pending


@dataclass(slots=True, kw_only=True)
class Stream(Aggregate):
    """A stream with no behaviour of its own (an e-mail claim, a roster, a one-off record):
    only its id and version matter, so a repository can give its head without reading it."""

    starts_with: ClassVar[type[Any]] = object

    @classmethod
    def started(cls, first: Any, timestamp: str) -> Self:
        raise TypeError("a Stream is not replayed: ask the repository for its head")

    def apply(self, event: object, timestamp: str) -> None:
        """Nothing to change: only the version counts, and the caller counts it."""

    @classmethod
    def at(cls, stream_id: str, version: int) -> "Stream":
        return Stream(id=stream_id, version=version)
