"""The admission's edge: an HTTP request that starts a chat takes its place in the
admission (application/admission.py) before any middleware runs, and gives it back when
the chat lets go, when the answer starts, or when the request ends. The middleware's loop
work is much of a chat's start: with the place taken after it, 20 to 51 of 384 paced streams
stalled where 0 or 1 did with it taken first (docs/benchmarks.md).

Only a request whose whole body came with its first message takes a place, so a client
that sends its body slowly (or a large one) holds none and nothing is read ahead of the
allow-lists and the rate limit but what the server had already received; such a request
goes on as before, with no place.
"""

import asyncio
from collections import deque
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from api.scope import header
from application.admission import HELD_AT_THE_EDGE, Admission, Place


def admission_middleware(admission: Admission, body_limit: int) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if not starts_chat(scope) or declared_length(scope) > body_limit:
                await app(scope, receive, send)
                return
            replay, whole = await read_ahead(receive, body_limit)
            if not whole:
                await app(scope, replay, send)
                return
            place = await place_unless_gone(admission, replay)
            if place is None:
                return  # the client left while it waited: no chat for nobody
            held = HELD_AT_THE_EDGE.set(place)

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    place.let_go()
                await send(message)

            try:
                await app(scope, replay, sending)
            finally:
                place.let_go()
                HELD_AT_THE_EDGE.reset(held)

        return middleware

    return wrap


def starts_chat(scope: Scope) -> bool:
    return (
        scope["type"] == ScopeType.HTTP
        and scope["method"] == "POST"
        and scope["path"].endswith("/chat/completions")
    )


def declared_length(scope: Scope) -> int:
    value = header(scope, b"content-length")
    return int(value) if value.isascii() and value.isdigit() else 0


class Replay:
    """`receive` with messages already read handed out again first, in order."""

    def __init__(self, receive: Receive, read: list[ReceiveMessage]) -> None:
        self._receive = receive
        self.read = deque(read)

    async def __call__(self) -> ReceiveMessage:
        return self.read.popleft() if self.read else await self._receive()

    async def fresh(self) -> ReceiveMessage:
        """The next message the server gives, past those kept to hand out again."""
        return await self._receive()


async def read_ahead(receive: Receive, limit: int) -> tuple[Replay, bool]:
    """`receive` with the request's first message read already, and whether that message
    was the whole body, within `limit` (a chat's small body comes with its head)."""
    first = await receive()
    whole = (
        first["type"] == "http.request"
        and not first.get("more_body", False)
        and len(first.get("body", b"")) <= limit
    )
    return Replay(receive, [first]), whole


async def place_unless_gone(admission: Admission, replay: Replay) -> Place | None:
    """A place, or None if the client disconnected while it waited for one. A free place
    is taken at once; only a wait listens for the client (what it hears is replayed)."""
    if admission.has_room():
        return await admission.place()
    waiting = asyncio.ensure_future(admission.place())
    listening = asyncio.ensure_future(replay.fresh())
    try:
        while not waiting.done():
            await asyncio.wait({waiting, listening}, return_when=asyncio.FIRST_COMPLETED)
            if listening.done() and not waiting.done():
                message = listening.result()
                if message["type"] == "http.disconnect":
                    let_go_of(waiting)
                    return None
                replay.read.append(message)
                listening = asyncio.ensure_future(replay.fresh())
        place = waiting.result()
    except BaseException:
        let_go_of(waiting)
        listening.cancel()
        raise
    if listening.done():
        replay.read.append(listening.result())
    else:
        listening.cancel()
    return place


def let_go_of(waiting: "asyncio.Future[Place]") -> None:
    """A place that was being waited for: no longer wanted, whether or not it came."""
    if not waiting.done():
        waiting.cancel()
    elif not waiting.cancelled() and waiting.exception() is None:
        waiting.result().let_go()
