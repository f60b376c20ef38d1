"""One committer on the event loop that appends the pending events of every live reply at once.

The event table is locked for each commit (the same `LOCK TABLE ... IN EXCLUSIVE MODE` and
`NOTIFY` as eventsourcing's PostgreSQL recorder, which keeps positions in commit order for
the projections), so commits are the scarce resource: while one is in flight the next
batches gather, and one transaction carries all of them. Running on the event loop with
psycopg's async driver keeps a reply's first chunk free of thread hand-offs.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent

from application.errors import StreamConflict
from application.ports import PendingEvent
from infrastructure import metrics, request_metadata
from infrastructure.data_keys import KeyRow
from infrastructure.pools import async_pool

log = logging.getLogger("llmchat.writer")

# llmchat_append (infrastructure/postgres.py) locks the table, notifies and inserts in one
# statement, so a commit is one round trip. The arrays go in binary (%b): psycopg dumps a
# list as text in Python, 300 us for a group of 64 rows against 48 us in binary, on the
# event loop (4% of the API's samples at 256 paced streams).
APPEND = "SELECT * FROM llmchat_append(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
# With the data keys of the conversations it starts (infrastructure/data_keys.py).
APPEND_KEYED = (
    "SELECT * FROM llmchat_append_keyed(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[],"
    " %b::uuid[], %b::uuid[], %b::bytea[])"
)


class FreshKeys(Protocol):
    """The data keys made for the streams an append starts: saved with it, or not."""

    def saved(self, rows: Sequence[KeyRow]) -> None: ...

    def dropped(self, rows: Sequence[KeyRow], suspect: bool = False) -> None: ...


class NoFreshKeys:
    def saved(self, rows: Sequence[KeyRow]) -> None:
        return None

    def dropped(self, rows: Sequence[KeyRow], suspect: bool = False) -> None:
        return None


@dataclass
class Submission:
    events: Sequence[PendingEvent]
    future: asyncio.Future[list[int]]
    origin: request_metadata.RequestMetadata | None


class GroupCommitWriter:
    def __init__(
        self,
        conninfo: str,
        to_stored: Callable[[PendingEvent, list[KeyRow]], StoredEvent],
        keys: FreshKeys | None = None,
    ) -> None:
        self.pool = async_pool(conninfo, min_size=1, max_size=2, name="writer")
        self.to_stored = to_stored
        self.keys = keys or NoFreshKeys()
        self.pending: asyncio.Queue[Submission] | None = None
        self.committer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.pool.open(wait=False)
        self.pending = asyncio.Queue()
        self.committer = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.committer is not None:
            self.committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.committer
        await self.pool.close()

    async def write(self, events: Sequence[PendingEvent]) -> list[int]:
        """Resolves once the events are durable, with their log positions."""
        if self.pending is None:
            raise RuntimeError("the writer has not been started")
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        # The committer is a task of its own: take the request's origin along for the audit.
        self.pending.put_nowait(Submission(events, future, request_metadata.current()))
        return await future

    async def run(self) -> None:
        assert self.pending is not None
        while True:
            group = [await self.pending.get()]
            while not self.pending.empty():
                group.append(self.pending.get_nowait())
            await self.commit(group)

    async def commit(self, group: list[Submission]) -> None:
        made: list[KeyRow] = []
        try:
            positions = await self.append([e for s in group for e in self.stored(s, made)], made)
        except StreamConflict:
            # One submission's versions are stale; commit each alone so only it fails.
            self.keys.dropped(made)
            for submission in group:
                await self.commit_alone(submission)
            return
        except Exception as error:
            self.keys.dropped(made)
            for submission in group:
                settle(submission, error=error)
            return
        self.keys.saved(made)
        start = 0
        for submission in group:
            end = start + len(submission.events)
            settle(submission, positions[start:end])
            start = end

    async def commit_alone(self, submission: Submission) -> None:
        made: list[KeyRow] = []
        try:
            positions = await self.append(self.stored(submission, made), made)
        except Exception as error:
            # Its own failure: a key of that id may be in the table after all.
            self.keys.dropped(made, suspect=True)
            settle(submission, error=error)
            return
        self.keys.saved(made)
        settle(submission, positions)

    def stored(self, submission: Submission, made: list[KeyRow]) -> list[StoredEvent]:
        with request_metadata.attached(submission.origin or {}):
            return [self.to_stored(e, made) for e in submission.events]

    async def append(self, stored: Sequence[StoredEvent], made: Sequence[KeyRow] = ()) -> list[int]:
        columns: tuple[list[Any], ...] = (
            [s.originator_id for s in stored],
            [s.originator_version for s in stored],
            [s.topic for s in stored],
            [s.state for s in stored],
        )
        statement = APPEND
        if made:
            statement = APPEND_KEYED
            columns += (
                [UUID(row.key_id) for row in made],
                [UUID(row.owner_id) for row in made],
                [row.wrapped for row in made],
            )
        started = time.perf_counter()
        try:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(statement, columns, prepare=True)
                rows = await cursor.fetchall()
        except psycopg.errors.UniqueViolation:
            raise StreamConflict from None
        metrics.EVENT_STORE_APPEND.observe(time.perf_counter() - started)
        return [int(row[0]) for row in rows]


def settle(
    submission: Submission, positions: list[int] | None = None, error: BaseException | None = None
) -> None:
    if submission.future.done():
        return
    if error is not None:
        submission.future.set_exception(error)
    else:
        submission.future.set_result(positions or [])
