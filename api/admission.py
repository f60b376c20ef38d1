"""The admission's edge: an HTTP request that starts a chat takes its place in the
admission (application/admission.py) before it is routed, once the allow-lists and the rate
limit let it through and its body is in, and gives it back when the chat lets go, when the
answer starts, or when the request ends.

The body is read first so that a client sending it slowly holds no place; a body over the
limit (declared or sent) is handed on as it is, with no place, for the router to refuse.
"""

from collections import deque
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
    """`receive` with the request's body read already (up to just past `limit`), and
    whether that was all of it within the limit."""
    read: deque[ReceiveMessage] = deque()
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > limit:
            break
    whole = size <= limit and read[-1]["type"] == "http.request"

    async def replay() -> ReceiveMessage:
        return read.popleft() if read else await receive()

    return replay, whole
