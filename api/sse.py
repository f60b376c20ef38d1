"""Server-sent events: frames with ids, and a keep-alive comment when nothing else is said."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

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


class Primed:
    """A stream's chunks when the first is ready as the response is made."""

    def __init__(self, ready: bytes, rest: AsyncIterator[bytes]) -> None:
        self.ready, self.rest = ready, rest

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.rest


class PrimedStreamingResponse(ASGIStreamingResponse):
    """Sends a ready first chunk straight after the headers, from the request's own task:
    streaming the rest starts a task group, whose task waits behind whatever else the
    loop has to do (a millisecond while a provider's burst is stored)."""

    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        if isinstance(self.iterator, Primed):
            await send(
                {"type": "http.response.body", "body": self.iterator.ready, "more_body": True}
            )
        await super().send_body(send, receive)


class EventStream(Stream):
    """A Stream whose own media type wins (Litestar 2.x lets the handler's default win),
    sending a Primed first chunk at once."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = self.media_type
        response = super().to_asgi_response(*args, **kwargs)
        if isinstance(response, ASGIStreamingResponse):
            # Litestar makes the response; only its way of sending the body differs.
            response.__class__ = PrimedStreamingResponse
        return response


def event_stream(frames: AsyncIterator[Frame], ready: Frame | None = None) -> Stream:
    """The frames as SSE; `ready`, if given, goes first, the moment the headers have."""
    rest = with_keep_alive(frames)
    chunks = rest if ready is None else Primed(encode(ready), rest)
    return EventStream(chunks, media_type="text/event-stream", headers=HEADERS)
