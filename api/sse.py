"""Server-sent events: frames with ids, and a keep-alive comment when nothing else is said."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import Stream

from application.replies import Frame

KEEP_ALIVE_SECONDS = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode(frame: Frame) -> bytes:
    data = msgspec.json.encode(frame.data)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (frame.id, frame.event.encode(), data)


async def encoded(frames: AsyncIterator[Frame]) -> AsyncIterator[bytes]:
    async for frame in frames:
        yield encode(frame)


def with_keep_alive(frames: AsyncIterator[Frame]) -> AsyncIterator[bytes]:
    """Encoded frames, with a keep-alive comment when nothing else is said."""
    return with_heartbeat(encoded(frames))


async def with_heartbeat(
    chunks: AsyncIterator[bytes], every: float = KEEP_ALIVE_SECONDS
) -> AsyncIterator[bytes]:
    """The chunks, with an SSE comment whenever nothing was said for `every` seconds.

    The chunks are pumped through a queue by a task of their own, since waiting on the
    iterator with a timeout would cancel it mid-step.
    """
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for part in chunks:
                await queue.put(part)
        finally:
            await queue.put(None)

    pumping = asyncio.create_task(pump())
    try:
        while True:
            try:
                part = await asyncio.wait_for(queue.get(), every)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if part is None:
                pumping.result()  # re-raise what stopped the chunks, if anything did
                return
            yield part
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pumping


class EventStream(Stream):
    """A Stream whose own media type wins: Litestar 2.x lets the handler's default win."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(*args, **kwargs)


def event_stream(frames: AsyncIterator[Frame]) -> Stream:
    return EventStream(with_keep_alive(frames), media_type="text/event-stream", headers=HEADERS)
