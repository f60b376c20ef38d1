"""What a projection is: tables of its own and a function that applies a batch of events to them."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

from psycopg import Cursor

from domain.events import Recorded


class Projection(Protocol):
    @property
    def name(self) -> str:
        """Stable: the runner tracks the position this projection reached under it."""
        ...

    @property
    def schema(self) -> Sequence[str]:
        """CREATE TABLE IF NOT EXISTS ... statements for its read-model tables."""
        ...

    @property
    def tables(self) -> Sequence[str]:
        """Its tables, emptied when it is rebuilt from the log."""
        ...

    def apply(self, cursor: Cursor[Any], batch: Sequence[Recorded]) -> None:
        """Write the effect of a batch of events, in log order; runs in pipeline mode in the
        transaction that records the position, so a result read back costs a round trip."""
        ...


class EventByEvent(ABC):
    """For projections whose events each stand alone: a batch is its events one by one."""

    def apply(self, cursor: Cursor[Any], batch: Sequence[Recorded]) -> None:
        for recorded in batch:
            self.apply_event(cursor, recorded)

    @abstractmethod
    def apply_event(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        """Write the effect of one event."""


def row_values(row: Any) -> tuple[Any, ...]:
    """A row's values in column order, whichever row factory the connection uses."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def where_all(clauses: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """A WHERE of the clauses whose value is given (not None), and their parameters."""
    given = [(clause, value) for clause, value in clauses if value is not None]
    where = " WHERE " + " AND ".join(clause for clause, _ in given) if given else ""
    return where, [value for _, value in given]
