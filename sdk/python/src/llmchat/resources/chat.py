"""`client.chat`: completions (blocking, or a resumable stream), streams and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

from llmchat import routes
from llmchat.chat_stream import ChatStream
from llmchat.models import Cancelled, Completion, HistoryMessage, Page, SavedSession, Session
from llmchat.routes import MessageParam
from llmchat.stream_state import StreamState
from llmchat.sync_transport import SyncTransport


class Streams:
    """Replies that are (or were) streamed, by message id."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def resume(self, message_id: str, *, last_event_id: int = 0) -> ChatStream:
        """The frames after `last_event_id`, then the live rest; a finished reply is replayed."""
        state = StreamState(message_id, last_event_id)
        response = self._transport.open(routes.resume_stream(message_id, last_event_id))
        return ChatStream(self._transport, response, state)

    def cancel(self, message_id: str) -> Cancelled:
        return self._transport.call(routes.cancel_stream(message_id))


class Sessions:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(self, *, page: int | None = None, limit: int | None = None) -> Page[Session]:
        return self._transport.call(routes.list_sessions(page, limit))

    def history(
        self,
        session_id: str,
        *,
        page: int | None = None,
        limit: int | None = None,
        before: str | None = None,
    ) -> Page[HistoryMessage]:
        """Newest messages first by page, oldest first within a page."""
        return self._transport.call(routes.session_history(session_id, page, limit, before))

    def save(
        self, session_id: str, *, title: str, agent_id: str, messages: Sequence[MessageParam] = ()
    ) -> SavedSession:
        return self._transport.call(routes.save_session(session_id, title, agent_id, messages))

    def delete(self, session_id: str) -> None:
        self._transport.call(routes.delete_session(session_id))


class Chat:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport
        self.streams = Streams(transport)
        self.sessions = Sessions(transport)

    @overload
    def completions(
        self,
        *,
        agent_id: str,
        messages: Sequence[MessageParam],
        stream: Literal[True],
        session_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatStream: ...

    @overload
    def completions(
        self,
        *,
        agent_id: str,
        messages: Sequence[MessageParam],
        stream: Literal[False] = False,
        session_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion: ...

    def completions(
        self,
        *,
        agent_id: str,
        messages: Sequence[MessageParam],
        stream: bool = False,
        session_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatStream | Completion:
        """A reply from the agent: whole, or (`stream=True`) as an iterator of `ChatChunk`s.

        A stream whose connection drops is resumed where it stopped, transparently.
        """
        body = routes.completion_body(
            agent_id, messages, stream, session_id, temperature, max_tokens
        )
        if not stream:
            return self._transport.call(routes.complete(body))
        response = self._transport.open(routes.start_stream(body))
        return ChatStream(self._transport, response, StreamState())
