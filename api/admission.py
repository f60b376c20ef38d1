"""The admission's edge: an HTTP request that starts a chat takes its place in the
admission (application/admission.py) before the middleware runs, once its body is in, and
gives it back when the chat lets go, when the answer starts, or when the request ends.

The body is read first so that a client sending it slowly holds no place; a body over the
limit is handed on as it is, for the router to refuse.
"""

from collections import deque
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from application.admission import HELD_AT_THE_EDGE, Admission


def admission_middleware(admission: Admission, body_limit: int) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if not starts_chat(scope):
                await app(scope, receive, send)
                return
            replay = await read_ahead(receive, body_limit)
            let_go = await admission.place()
            held = HELD_AT_THE_EDGE.set(let_go)

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    let_go()
                await send(message)

            try:
                await app(scope, replay, sending)
            finally:
                let_go()
                HELD_AT_THE_EDGE.reset(held)

        return middleware

    return wrap


def starts_chat(scope: Scope) -> bool:
    return (
        scope["type"] == ScopeType.HTTP
        and scope["method"] == "POST"
        and scope["path"].endswith("/chat/completions")
    )


async def read_ahead(receive: Receive, limit: int) -> Receive:
    """`receive` with the request's body read already (up to just past `limit`)."""
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

    async def replay() -> ReceiveMessage:
        return read.popleft() if read else await receive()

    return replay
