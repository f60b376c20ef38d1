"""Quiet streams say something: a keep-alive comment between frames that are slow to come."""

import asyncio

from api.sse import with_heartbeat


async def slow_parts():
    yield b"data: first\n\n"
    await asyncio.sleep(0.12)
    yield b"data: second\n\n"


def test_a_comment_fills_each_silence_and_the_parts_pass_unchanged():
    async def collect():
        return [part async for part in with_heartbeat(slow_parts(), every=0.05)]

    parts = asyncio.run(collect())
    assert parts[0] == b"data: first\n\n" and parts[-1] == b"data: second\n\n"
    assert parts[1:-1] and set(parts[1:-1]) == {b": keep-alive\n\n"}


def test_no_comment_when_parts_keep_coming():
    async def quick():
        for n in range(3):
            yield b"data: %d\n\n" % n

    async def collect():
        return [part async for part in with_heartbeat(quick(), every=0.05)]

    assert asyncio.run(collect()) == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
