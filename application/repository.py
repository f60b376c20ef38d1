"""The one way use cases load aggregates and save what they decided.

`get` rebuilds an aggregate from its stream; `save` appends the pending events of one or
several aggregates in one atomic append, so either every stream moves on or none does (a
`StreamConflict` when another writer got to one of them first). The reply's hot path keeps
its own group-commit writer; everything else comes here.
"""

from typing import TypeVar

from application.ports import EventStore
from domain.aggregate import Aggregate, PendingEvent, Stream
from domain.ids import is_uuid

A = TypeVar("A", bound=Aggregate)


class Repository:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def get(self, kind: type[A], stream_id: str) -> A | None:
        """The aggregate, or None when the id is malformed, names no stream, or names a
        stream of another kind (ids are shared by every stream in the log)."""
        if not is_uuid(stream_id):
            return None
        history = self.store.read(stream_id)
        if not history or not isinstance(history[0].event, kind.starts_with):
            return None
        return kind.replay((r.event, r.timestamp) for r in history)

    def head(self, stream_id: str) -> Stream:
        """A behaviourless stream at its current version, to append to under that version."""
        return Stream.at(stream_id, self.store.version(stream_id))

    def save(self, *aggregates: Aggregate) -> list[int]:
        """Append every pending event atomically; the positions they took, in order."""
        pending: list[PendingEvent] = [p for a in aggregates for p in a.pending]
        if not pending:
            return []
        positions = self.store.append(pending)
        for aggregate in aggregates:
            aggregate.collect()
        return positions

    def record(self, stream_id: str, event: object) -> int:
        """A one-off event as the first of a stream of its own (it never conflicts when the
        id is new)."""
        stream = Stream.at(stream_id, 0)
        stream.trigger(event)
        return self.save(stream)[0]
