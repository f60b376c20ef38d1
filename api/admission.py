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

from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from application.admission import HELD_AT_THE_EDGE, Admission


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
            place = await admission.place()
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
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def read_ahead(receive: Receive, limit: int) -> tuple[Receive, bool]:
    """`receive` with the request's first message read already, and whether that message
    was the whole body, within `limit` (a chat's small body comes with its head)."""
    first = await receive()
    whole = (
        first["type"] == "http.request"
        and not first.get("more_body", False)
        and len(first.get("body", b"")) <= limit
    )
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay, whole
