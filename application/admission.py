"""How many chats start at once: the event loop's share of a chat's start, taken in turns.

A chat's start is the event loop's work from its attachments to the provider asked (the
conversation read, the turn decided, the budget reserved, the provider request sent).
When hundreds start at once, each step of each start joins every turn of the loop, a turn
then lasts tens of milliseconds, and the replies already streaming wait that long for each
delta: at 128 paced streams started together, every stream's largest gap fell in its
first eight deltas (bench/paced.py). With a few starts at a time the loop turns quickly
and streams flow while the rest wait their turn. A start lets go of its place once the
provider is asked, before it waits on the provider and the commit, which are no loop work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

ADMISSION_SLOTS = 16
"""Chats starting at once; docs/benchmarks.md weighs 8, 16 and no limit."""


class Admission:
    """`slots` places, on each event loop that uses it (a semaphore belongs to one loop)."""

    def __init__(self, slots: int = ADMISSION_SLOTS) -> None:
        self.slots = slots
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def semaphore(self) -> asyncio.Semaphore:
        """The running loop's semaphore, made on its first use there."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.slots)
        return self._semaphore

    def has_room(self) -> bool:
        """A place is free now: taking it will not wait."""
        return not self.semaphore().locked()

    async def place(self) -> Place:
        """A place, once one is free."""
        place = Place(self)
        await place.take()
        return place

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[Place]:
        """Hold a place until `let_go()` is called or the block ends, whichever is first: the
        place the request took as it arrived (HELD_AT_THE_EDGE), or a new one."""
        place = HELD_AT_THE_EDGE.get() or Place(self)
        await place.take()
        try:
            yield place
        finally:
            place.let_go()


class Place:
    """One chat's place: taken (again, if it was let go) and let go, each at most once."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._held: asyncio.Semaphore | None = None

    async def take(self) -> None:
        if self._held is None:
            semaphore = self._admission.semaphore()
            await semaphore.acquire()
            self._held = semaphore

    def let_go(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            held.release()


HELD_AT_THE_EDGE: ContextVar[Place | None] = ContextVar("held_at_the_edge", default=None)
"""The place an HTTP request that starts a chat took before its route ran (api/admission.py),
so the route's loop work counts too."""
