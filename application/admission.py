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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

ADMISSION_SLOTS = 16
"""Chats starting at once; docs/benchmarks.md weighs 8, 16 and no limit."""

LetGo = Callable[[], None]


class Admission:
    def __init__(self, slots: int = ADMISSION_SLOTS) -> None:
        self._slots = asyncio.Semaphore(slots)

    async def place(self) -> LetGo:
        """Wait for a place; the `let_go` returned gives it back (once, however often called)."""
        await self._slots.acquire()
        held = True

        def let_go() -> None:
            nonlocal held
            if held:
                held = False
                self._slots.release()

        return let_go

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[LetGo]:
        """Hold a place until `let_go()` is called or the block ends, whichever is first: the
        place the request took as it arrived (HELD_AT_THE_EDGE), or a new one."""
        let_go = HELD_AT_THE_EDGE.get() or await self.place()
        try:
            yield let_go
        finally:
            let_go()


HELD_AT_THE_EDGE: ContextVar[LetGo | None] = ContextVar("held_at_the_edge", default=None)
"""The place an HTTP request that starts a chat took before its middleware ran
(api/admission.py), so the middleware's and the route's loop work count too."""
