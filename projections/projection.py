"""What a projection is: tables of its own and a function that applies one event to them."""

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

    def apply(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        """Write the effect of one event; runs in the transaction that records the position."""
        ...
