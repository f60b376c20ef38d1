"""The port to background jobs: work too slow for a request, done by a worker process
(Dramatiq over Redis) or, without Redis, by a thread of this one.

Every job is idempotent: a message delivered twice, or again after a lost acknowledgement,
finds its work done and does nothing more.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class QueueState:
    """What /health reports of the job queue."""

    running: bool
    """The queue can take jobs now (its broker is reachable)."""
    waiting: int
    active: int
    """Taken by a worker, not yet finished."""
    completed: int
    """Finished without an error, since the queue's counter was created."""


class Jobs(Protocol):
    def parse_drawing(self, file_id: str) -> None:
        """Ask for an uploaded drawing to be parsed; returns at once. The result shows up
        as the file's kept drawing (see application.parse_drawing)."""
        ...

    def queue_state(self) -> QueueState: ...


@dataclass(frozen=True, slots=True)
class JobWork:
    """What each job does, given to the runner by the composition root."""

    parse_drawing: Callable[[str], None]
