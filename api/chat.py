"""/api/chat: completions (blocking and SSE), stream resume and cancel, sessions."""

from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from api.dependencies import CallerDep, ChatDep, ConversationViewsDep, WrittenId
from api.envelope import now, paginated, success
from api.frame_json import usage_json
from api.scope import header
from api.sse import event_stream
from application.api_keys import ApiKeyClaims
from application.cancel_reply import cancel_reply
from application.chat import Caller, Chat
from application.errors import ValidationFailed
from application.follow_reply import follow_reply
from application.live_feed import LiveFeed
from application.ports import AccessClaims
from application.provider import ChatTurn
from application.reply_frames import EndFrame, ErrorFrame, Frame
from application.save_session import SavedMessage, SaveSession, delete_session, save_session
from application.send_message import SendMessage, StartedReply, send_message
from application.session_queries import history_page, sessions_page


class Wire(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """The camelCase base of the chat request bodies."""


class MessageIn(Wire):
    role: str
    content: str


class ChatConfig(Wire):
    temperature: float | None = None
    max_tokens: int | None = None


class CompletionBody(Wire):
    agent_id: str
    messages: list[MessageIn]
    stream: bool = False
    session_id: str | None = None
    config: ChatConfig | None = None
    file_ids: list[str] = []


class SavedMessageIn(Wire):
    role: str
    content: str
    id: str | None = None


class SaveBody(Wire):
    session_id: str
    title: str
    agent_id: str
    messages: list[SavedMessageIn] = []


def caller_of(principal: AccessClaims) -> Caller:
    return Caller(principal.user_id, principal.role, isinstance(principal, ApiKeyClaims))


async def opened(chat: Chat, started: StartedReply) -> tuple[LiveFeed, Frame]:
    """Follow a reply just started here; one that failed before its first chunk is answered
    as an envelope (503 or 502), not as a stream."""
    feed = started.feed
    first = await feed.next()
    if isinstance(first, ErrorFrame):
        feed.close()
        raise first.error()
    return feed, first


async def final_of(feed: LiveFeed, first: Frame) -> EndFrame:
    """How a reply followed to its end ended; one that failed is answered as an envelope."""
    final = await feed.final(first)
    if isinstance(final, ErrorFrame):
        raise final.error()
    assert isinstance(final, EndFrame)
    return final


def command_of(data: CompletionBody, principal: AccessClaims) -> SendMessage:
    config = data.config or ChatConfig()
    return SendMessage(
        caller=caller_of(principal),
        agent_id=data.agent_id,
        messages=[ChatTurn(m.role, m.content) for m in data.messages],
        session_id=data.session_id,
        stream=data.stream,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        file_ids=tuple(data.file_ids),
    )


def blocking_answer(started: StartedReply, final: EndFrame) -> dict[str, Any]:
    return {
        "id": started.message_id,
        "sessionId": started.session_id,
        "message": {"role": "assistant", "content": started.recorder.text},
        "usage": usage_json(final.usage),
        "finishReason": final.finish_reason,
        "createdAt": now(),
    }


class ChatController(Controller):
    path = "/api/chat"

    @post("/completions", status_code=200)
    async def completions(
        self,
        data: JSONBody[CompletionBody],
        chat: ChatDep,
        principal: CallerDep,
    ) -> Any:
        started = await send_message(chat, command_of(data, principal))
        feed, first = await opened(chat, started)
        if data.stream:
            return event_stream(feed.after(first), ready=first)
        return success(blocking_answer(started, await final_of(feed, first)))

    @get("/streams/{message_id:str}")
    async def resume(
        self,
        request: Request[Any, Any, Any],
        message_id: FromPath[str],
        chat: ChatDep,
        principal: CallerDep,
        last_event_id: Annotated[str | None, QueryParameter(name="lastEventId")] = None,
    ) -> Stream | Response[None]:
        after_text = header(request.scope, b"last-event-id") or last_event_id or "0"
        if not after_text.isdigit():
            raise ValidationFailed("Last-Event-ID: must be a frame id (a whole number)")
        caller = caller_of(principal)
        frames = await follow_reply(chat, message_id, caller, int(after_text))
        if frames is None:
            # The reply is over and the client has all of it: 204 tells an EventSource
            # (and the SDKs) to stop reconnecting.
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        return event_stream(frames)

    @post("/streams/{message_id:str}/cancel", status_code=200)
    async def cancel(
        self,
        message_id: WrittenId,
        chat: ChatDep,
        principal: CallerDep,
    ) -> dict[str, Any]:
        final = await cancel_reply(chat, message_id, caller_of(principal))
        finish = final.finish_reason if isinstance(final, EndFrame) else "error"
        return success({"messageId": message_id, "finishReason": finish}, "Cancelled")

    @get("/sessions")
    async def sessions(
        self,
        views: ConversationViewsDep,
        principal: CallerDep,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> dict[str, Any]:
        items, total = await to_thread.run_sync(
            sessions_page, views, caller_of(principal), page, limit
        )
        return paginated(items, page, limit, total)

    @get("/sessions/{session_id:str}/history")
    async def history(
        self,
        session_id: FromPath[str],
        chat: ChatDep,
        views: ConversationViewsDep,
        principal: CallerDep,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 50,
        before: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        args = (chat, views, caller_of(principal), session_id)
        items, total = await to_thread.run_sync(history_page, *args, page, limit, before)
        return paginated(items, page, limit, total)

    @post("/sessions/save", status_code=200)
    async def save(
        self,
        data: JSONBody[SaveBody],
        chat: ChatDep,
        principal: CallerDep,
    ) -> dict[str, Any]:
        command = SaveSession(
            caller=caller_of(principal),
            session_id=data.session_id,
            title=data.title,
            agent_id=data.agent_id,
            messages=[SavedMessage(m.role, m.content, m.id) for m in data.messages],
        )
        conversation = await to_thread.run_sync(save_session, chat, command)
        view = {
            "id": conversation.id,
            "title": conversation.title,
            "agentId": conversation.agent_id,
            "messageCount": len(conversation.messages),
        }
        return success(view, "Saved")

    @delete("/sessions/{session_id:str}", status_code=200)
    async def remove(
        self,
        session_id: WrittenId,
        chat: ChatDep,
        principal: CallerDep,
    ) -> dict[str, Any]:
        await to_thread.run_sync(delete_session, chat, caller_of(principal), session_id)
        return success(None, "Deleted")
