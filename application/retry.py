"""The one retry policy for optimistic-concurrency conflicts.

A use case that is safe to re-run from the start (it loads, decides and saves, and does
nothing outside the store before its save succeeds) says so with `@rerun_on_conflict`;
a conflict then re-runs it a bounded number of times, each after a short random pause so
that writers racing for one stream spread out instead of colliding again in step.
"""

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from application.errors import Conflict, StreamConflict

P = ParamSpec("P")
T = TypeVar("T")

ATTEMPTS = 8
# The first pause is up to this long, each next one up to twice the last.
FIRST_PAUSE = 0.002


def pause_before(attempt: int) -> float:
    """Full jitter: uniform in [0, FIRST_PAUSE * 2**attempt)."""
    return random.uniform(0, FIRST_PAUSE * 2**attempt)


def exhausted(name: str) -> Conflict:
    return Conflict("The resource is being changed", f"{name}: too many concurrent changes")


def rerun_on_conflict(use_case: Callable[P, T]) -> Callable[P, T]:
    return rerun_on_conflict_or(lambda *_, **__: exhausted(use_case.__name__))(use_case)


def rerun_on_conflict_or(
    failure: Callable[..., Exception],
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """The same policy, raising what `failure` makes of the use case's arguments when the
    attempts run out (for a use case whose callers are told something of their own, such
    as "Session is busy")."""

    def policy(use_case: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(use_case)
        def rerun(*args: P.args, **kwargs: P.kwargs) -> T:
            for attempt in range(ATTEMPTS):
                try:
                    return use_case(*args, **kwargs)
                except StreamConflict:
                    time.sleep(pause_before(attempt))
            raise failure(*args, **kwargs)

        return rerun

    return policy


def rerun_async_on_conflict(
    use_case: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    return rerun_async_on_conflict_or(lambda: exhausted(use_case.__name__))(use_case)


def rerun_async_on_conflict_or(
    failure: Callable[[], Exception],
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """`rerun_on_conflict_or` for a use case that awaits."""

    def policy(use_case: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(use_case)
        async def rerun(*args: P.args, **kwargs: P.kwargs) -> T:
            for attempt in range(ATTEMPTS):
                try:
                    return await use_case(*args, **kwargs)
                except StreamConflict:
                    await asyncio.sleep(pause_before(attempt))
            raise failure()

        return rerun

    return policy
