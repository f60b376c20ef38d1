"""`client.chat` of the async client: completions (blocking, or a resumable stream), sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

from llmchat import routes
from llmchat.async_chat_stream import AsyncChatStream
from llmchat.async_transport import AsyncTransport
from llmchat.models import Cancelled, Completion, HistoryMessage, Page, SavedSession, Session
from llmchat.routes import MessageParam
from llmchat.stream_state import StreamState


class AsyncStreams:
    """Replies that are (or were) streamed, by message id."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def resume(self, message_id: str, *, last_event_id: int = 0) -> AsyncChatStream:
        """The frames after `last_event_id`, then the live rest; a finished reply is replayed."""
        state = StreamState(message_id, last_event_id)
        response = await self._transport.open(routes.resume_stream(message_id, last_event_id))
        return AsyncChatStream(self._transport, response, state)

    async def cancel(self, message_id: str) -> Cancelled:
        return await self._transport.call(routes.cancel_stream(message_id))


class AsyncSessions:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(self, *, page: int | None = None, limit: int | None = None) -> Page[Session]:
        return await self._transport.call(routes.list_sessions(page, limit))

    async def history(
        self,
        session_id: str,
        *,
        page: int | None = None,
        limit: int | None = None,
        before: str | None = None,
    ) -> Page[HistoryMessage]:
        """Newest messages first by page, oldest first within a page."""
        return await self._transport.call(routes.session_history(session_id, page, limit, before))

    async def save(
        self, session_id: str, *, title: str, agent_id: str, messages: Sequence[MessageParam] = ()
    ) -> SavedSession:
        return await self._transport.call(
            routes.save_session(session_id, title, agent_id, messages)
        )

    async def delete(self, session_id: str) -> None:
        await self._transport.call(routes.delete_session(session_id))


class AsyncChat:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self.streams = AsyncStreams(transport)
        self.sessions = AsyncSessions(transport)

    @overload
    async def completions(
        self,
        *,
        agent_id: str,
        messages: Sequence[MessageParam],
        stream: Literal[True],
        session_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncChatStream: ...

    @overload
    async def completions(
        self,
        *,
        agent_id: str,
        messages: Sequence[MessageParam],
        stream: Literal[False] = False,
        session_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion: ...

    async def completions(
        self,
        *,
        agent_id: str,
        messages: Sequence[MessageParam],
        stream: bool = False,
        session_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncChatStream | Completion:
        """A reply from the agent: whole, or (`stream=True`) as an async iterator of chunks.

        A stream whose connection drops is resumed where it stopped, transparently.
        """
        body = routes.completion_body(
            agent_id, messages, stream, session_id, temperature, max_tokens
        )
        if not stream:
            return await self._transport.call(routes.complete(body))
        response = await self._transport.open(routes.start_stream(body))
        return AsyncChatStream(self._transport, response, StreamState())
