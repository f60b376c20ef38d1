"""/api/ws: chat, cancel and resume over one WebSocket, several chats at once.

Client → server: `{"type":"chat", ...completions body}`, `{"type":"cancel","messageId"}`,
`{"type":"resume","messageId","lastEventId"}`; the token (an access token or an API key,
as on HTTP) comes as `?token=`, as `Authorization: Bearer`, or as `{"type":"auth","token"}`
first. Server → client: `chunk`, `end` and `error` messages, and `complete` for a resume of
a finished reply from its last frame (nothing is to come: SSE answers 204 there); a
`requestId` sent with a request is echoed on everything that answers it.

Every message after the token counts against the caller's rate-limit budget, the one its
HTTP requests spend; over it, the message gets a `RATE_LIMITED` error and is not run.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from api.callers import Callers
from api.chat import CompletionBody, caller_of, command_of
from api.dependencies import CallersDep, ChatDep, RateLimitsDep, SettingsDep
from api.failures import classify
from api.key_principal import bearer
from api.principal import authenticated
from api.rate_limit import REFUSED, Caller, RateLimits, budget_of, refusal_details, spend
from api.request_body import decoded_json, parsed_json, refuse_unstorable
from api.socket_messages import complete_message, error_message, frame_message
from application.api_keys import ApiKeyClaims
from application.authenticate import still_good
from application.cancel_reply import cancel_reply
from application.chat import Chat
from application.errors import ApplicationError, RateLimited, Unauthorized, ValidationFailed
from application.follow_reply import follow_reply
from application.ports import AccessClaims
from application.reply_frames import Frame
from application.send_message import send_message
from infrastructure.settings import Settings

log = logging.getLogger("llmchat.ws")

# Close codes in the private range (4000-4999): 4401 mirrors HTTP 401.
UNAUTHENTICATED = 4401


class Envelope(msgspec.Struct):
    type: str
    request_id: str | None = msgspec.field(default=None, name="requestId")


class CancelRequest(msgspec.Struct, rename="camel"):
    message_id: str


class ResumeRequest(msgspec.Struct, rename="camel"):
    message_id: str
    last_event_id: int | str = 0


def failure_message(error: Exception) -> dict[str, Any]:
    """An error message for what went wrong. A message that is not what it should be is
    said in msgspec's words, as the socket always has."""
    if isinstance(error, msgspec.ValidationError | msgspec.DecodeError):
        error = ValidationFailed(str(error))
    return error_message(classify(error))


def request_id_of(raw: str | bytes) -> str | None:
    """A refused message's requestId, when it has one; the message is read no further."""
    try:
        return msgspec.json.decode(raw, type=Envelope).request_id
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None


@dataclass(frozen=True, slots=True)
class SocketServices:
    """What the chat socket uses: who is calling, the caller's rate budget, chat itself."""

    chat: Chat
    callers: Callers
    rate_limits: RateLimits
    settings: Settings


class ChatSocket:
    def __init__(self, socket: WebSocket[Any, Any, Any], services: SocketServices) -> None:
        self.socket = socket
        self.services = services
        self.sending = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, message: dict[str, Any], request_id: str | None) -> None:
        if request_id is not None:
            message = {**message, "requestId": request_id}
        async with self.sending:
            await self.socket.send_text(msgspec.json.encode(message).decode())

    async def principal(self) -> AccessClaims:
        token = self.socket.query_params.get("token") or bearer(self.socket.scope)
        if not token:
            first = decoded_json(await self.socket.receive_data("text"))
            token = (
                first.get("token")
                if isinstance(first, dict) and first.get("type") == "auth"
                else None
            )
        if not token:
            raise Unauthorized("Authentication required", "send ?token= or an auth message first")
        return await authenticated(self.socket.scope, self.services.callers, str(token))

    async def serve(self) -> None:
        try:
            claims = await self.principal()
        except (ApplicationError, msgspec.DecodeError) as error:
            await self.send(failure_message(error), None)
            await self.socket.close(code=UNAUTHENTICATED)
            return
        budget = budget_of(claims, self.services.settings)
        try:
            while True:
                raw = await self.socket.receive_data("text")
                if not await self.still_signed_in(claims, raw):
                    await self.socket.close(code=UNAUTHENTICATED)
                    return
                # Counted here, one at a time: a refused message costs no task.
                if await self.within(budget, raw):
                    self.start(self.handle(raw, claims))
        except WebSocketDisconnect:
            pass
        finally:
            for task in self.tasks:
                task.cancel()  # stops sending; the replies themselves run on

    async def still_signed_in(self, claims: AccessClaims, raw: str | bytes) -> bool:
        """A sign-in ended since the socket opened (signed out, its user deactivated) ends
        the socket at its next message. Asked of this process's revocation list, in memory;
        an API key is read when the socket opens only (a read per message would cost one
        of the store's)."""
        if isinstance(claims, ApiKeyClaims):
            return True
        callers = self.services.callers
        try:
            await still_good(claims, callers.revocations, callers.known_users)
        except Unauthorized as refused:
            with contextlib.suppress(Exception):
                await self.send(failure_message(refused), request_id_of(raw))
            return False
        return True

    async def within(self, budget: Caller, raw: str | bytes) -> bool:
        decision = await spend(self.socket.scope, self.services.rate_limits, budget)
        if decision.allowed:
            return True
        refusal = failure_message(RateLimited(REFUSED, decision.retry_after))
        refusal["details"] = refusal_details(budget, decision)
        refusal["retryAfter"] = decision.retry_after
        with contextlib.suppress(Exception):
            await self.send(refusal, request_id_of(raw))
        return False

    def start(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handle(self, raw: str | bytes, claims: AccessClaims) -> None:
        request_id = None
        try:
            message = parsed_json(raw)
            envelope = msgspec.convert(message, Envelope)
            request_id = envelope.request_id  # known first, so that a refusal is answered
            refuse_unstorable(message)
            await self.dispatch(envelope.type, message, claims, request_id)
        except (ApplicationError, msgspec.ValidationError, msgspec.DecodeError) as error:
            with contextlib.suppress(Exception):
                await self.send(failure_message(error), request_id)
        except Exception as error:
            log.exception("websocket request failed")
            with contextlib.suppress(Exception):
                await self.send(failure_message(error), request_id)

    async def dispatch(
        self, kind: str, message: object, claims: AccessClaims, request_id: str | None
    ) -> None:
        chat, caller = self.services.chat, caller_of(claims)
        if kind == "chat":
            body = msgspec.convert(message, ChatRequest)
            await self.relay(self.chat_frames(body, claims), request_id)
        elif kind == "cancel":
            cancel = msgspec.convert(message, CancelRequest)
            final = await cancel_reply(chat, cancel.message_id, caller)
            await self.send(frame_message(final), request_id)
        elif kind == "resume":
            resume = msgspec.convert(message, ResumeRequest)
            after = str(resume.last_event_id)
            if not after.isdigit():
                raise ValidationFailed("lastEventId: must be a frame id (a whole number)")
            frames = await follow_reply(chat, resume.message_id, caller, int(after))
            if frames is None:  # the reply ended at `after`: the client holds all of it
                await self.send(complete_message(resume.message_id, int(after)), request_id)
            else:
                await self.relay(frames, request_id)
        else:
            raise ValidationFailed(f"type: unknown message type {kind!r}")

    async def chat_frames(self, body: "ChatRequest", claims: AccessClaims) -> AsyncIterator[Frame]:
        chat = self.services.chat
        command = command_of(msgspec.structs.replace(body, stream=True), claims)
        started = await send_message(chat, command)
        feed = started.feed
        async for frame in feed.frames(await feed.next()):
            yield frame

    async def relay(self, frames: AsyncIterator[Frame], request_id: str | None) -> None:
        async for frame in frames:
            await self.send(frame_message(frame), request_id)


class ChatRequest(CompletionBody):
    """A completions body, plus the message type and an optional correlation id."""

    type: str = "chat"
    request_id: str | None = None


@websocket("/api/ws")
async def chat_socket(
    socket: WebSocket[Any, Any, Any],
    chat: ChatDep,
    callers: CallersDep,
    rate_limits: RateLimitsDep,
    settings: SettingsDep,
) -> None:
    await socket.accept()
    await ChatSocket(socket, SocketServices(chat, callers, rate_limits, settings)).serve()
