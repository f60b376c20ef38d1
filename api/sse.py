"""Server-sent events: frames with ids, and a keep-alive comment when nothing else is said."""

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from typing import Any

import msgspec
from litestar import Request
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.datastructures import Cookie
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import HTTPResponseBodyEvent, Receive, Send

from api.frame_json import event_name, frame_json
from application.reply_frames import Frame

KEEP_ALIVE_SECONDS = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode(frame: Frame) -> bytes:
    data = msgspec.json.encode(frame_json(frame))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (frame.id, event_name(frame).encode(), data)


async def encoded(frames: AsyncIterator[Frame]) -> AsyncIterator[bytes]:
    async for frame in frames:
        yield encode(frame)


def with_keep_alive(frames: AsyncIterator[Frame]) -> AsyncIterator[bytes]:
    """Encoded frames, with a keep-alive comment when nothing else is said."""
    return with_heartbeat(encoded(frames))


async def with_heartbeat(
    chunks: AsyncIterator[bytes], every: float = KEEP_ALIVE_SECONDS
) -> AsyncGenerator[bytes, None]:
    """The chunks, with an SSE comment whenever nothing was said for `every` seconds.

    The next chunk is awaited in a task of its own, which the keep-alive's timeout does
    not cancel (waiting on the iterator with a timeout would cancel it mid-step); one
    task at a time, not a pump and a queue, since an idle follower may wait for minutes.
    """
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(chunks))
            done, _ = await asyncio.wait((pending,), timeout=every)
            if not done:
                yield b": keep-alive\n\n"
                continue
            part, pending = pending, None
            try:
                yield part.result()
            except StopAsyncIteration:
                return
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        close = getattr(chunks, "aclose", None)
        if close is not None:  # the source stops listening now, not when it is collected
            with contextlib.suppress(Exception):
                await close()


class Primed:
    """A stream's chunks when the first is ready as the response is made."""

    def __init__(self, ready: bytes, rest: AsyncIterator[bytes]) -> None:
        self.ready, self.rest = ready, rest

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.rest


class StreamingResponse(ASGIStreamingResponse):
    """Streams from the request's own task, with one small task listening for the client
    to leave, instead of Litestar's anyio task group (a task, cancel scopes and their
    bookkeeping, held by every open stream). A Primed first chunk goes out straight after
    the headers, not behind whatever else the loop has to do.

    Only `send_body` differs, the hook Litestar documents for subclasses that send their
    data their own way; the body is sent from the public `iterator`."""

    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        if isinstance(self.iterator, Primed):
            await send(
                {"type": "http.response.body", "body": self.iterator.ready, "more_body": True}
            )
        streaming = asyncio.current_task()
        assert streaming is not None
        listener = asyncio.ensure_future(cancel_on_disconnect(receive, streaming))
        try:
            await self.send_chunks(send)
        except asyncio.CancelledError:
            if not (listener.done() and listener.result()):
                raise
            streaming.uncancel()  # the client left: the stream just ends, as Litestar's does
        finally:
            listener.cancel()

    async def send_chunks(self, send: Send) -> None:
        async for chunk in self.iterator:
            body = chunk if isinstance(chunk, bytes) else chunk.encode(self.encoding)
            event: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": body,
                "more_body": True,
            }
            await send(event)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def cancel_on_disconnect(receive: Receive, streaming: "asyncio.Task[Any]") -> bool:
    """Cancel `streaming` once the client disconnects; True if it did."""
    while (await receive())["type"] != "http.disconnect":
        pass
    streaming.cancel()
    return True


class EventStream(Stream):
    """A Stream whose own media type wins (Litestar 2.x lets the handler's default win),
    sent by StreamingResponse. Litestar calls this with what the handler's layers add
    (headers, cookies, a background task); they are merged as Stream merges them."""

    def to_asgi_response(
        self,
        app: Any,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: Any = None,
        status_code: int | None = None,
        type_encoders: Any = None,
    ) -> ASGIResponse:
        assert isinstance(self.iterator, AsyncIterable)
        return StreamingResponse(
            background=self.background or background,
            content_length=0,
            cookies=self.cookies if cookies is None else itertools.chain(self.cookies, cookies),
            encoded_headers=encoded_headers,
            encoding=self.encoding,
            headers={**headers, **self.headers} if headers is not None else self.headers,
            is_head_response=is_head_response,
            iterator=self.iterator,
            media_type=self.media_type,
            status_code=self.status_code or status_code,
        )


def event_stream(frames: AsyncIterator[Frame], ready: Frame | None = None) -> Stream:
    """The frames as SSE; `ready`, if given, goes first, the moment the headers have."""
    rest = with_keep_alive(frames)
    chunks = rest if ready is None else Primed(encode(ready), rest)
    return EventStream(chunks, media_type="text/event-stream", headers=HEADERS)
