"""Dify app API (``/chat-messages``), which keeps the history itself under its conversation_id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import msgspec

from application.provider import Chunk, Completion, ProviderRequest, ProviderStreamFailed
from domain.continuation import instruction_with
from infrastructure.providers.http import (
    ProviderHttp,
    StreamOutcome,
    bearer,
    decode_json,
    join_url,
)
from infrastructure.providers.openai import WireUsage

_TEXT_EVENTS = frozenset({"message", "agent_message"})


class _Metadata(msgspec.Struct):
    usage: WireUsage | None = None


class _StreamEvent(msgspec.Struct):
    event: str
    answer: str = ""
    conversation_id: str | None = None
    metadata: _Metadata | None = None
    code: str | None = None
    message: str = ""


class _Answer(msgspec.Struct):
    answer: str
    conversation_id: str | None = None
    metadata: _Metadata | None = None


class DifyProvider:
    def __init__(self, http: ProviderHttp) -> None:
        self._http = http

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        outcome = StreamOutcome(self._http.provider)
        events = self._http.stream_events(
            _chat_url(request),
            headers=bearer(request.api_key),
            body=chat_messages_body(request, "streaming"),
            outcome=outcome,
        )
        async with aclosing(events):
            async for event in events:
                text = self._read_event(event.data, outcome)
                if text:
                    yield Chunk(text=text, provider_conversation_id=outcome.conversation_id)
        yield outcome.last_chunk()

    async def complete(self, request: ProviderRequest) -> Completion:
        answer = await self._http.fetch_json(
            _chat_url(request),
            headers=bearer(request.api_key),
            body=chat_messages_body(request, "blocking"),
            answer_type=_Answer,
        )
        usage = answer.metadata.usage if answer.metadata else None
        return Completion(
            text=answer.answer,
            usage=None if usage is None else usage.to_usage(),
            finish_reason="stop",  # Dify reports no finish reason
            provider_conversation_id=answer.conversation_id or None,
        )

    async def probe(self, request: ProviderRequest) -> float:
        url = join_url(request.endpoint, "/parameters")
        return await self._http.probe(url, headers=bearer(request.api_key))

    def _read_event(self, data: str, outcome: StreamOutcome) -> str:
        event = decode_json(self._http.provider, data, _StreamEvent)
        if event.conversation_id:
            outcome.conversation_id = event.conversation_id
        if event.event in _TEXT_EVENTS:
            return event.answer
        if event.event == "message_end":
            usage = event.metadata.usage if event.metadata else None
            outcome.usage = None if usage is None else usage.to_usage()
            outcome.finish_reason = "stop"
            outcome.finished = True
        elif event.event == "error":
            raise ProviderStreamFailed(self._http.provider, event.message, code=event.code)
        # ping, agent_thought, message_file, workflow and node events carry no answer text.
        return ""


def chat_messages_body(request: ProviderRequest, response_mode: str) -> dict[str, object]:
    # Dify keeps the history under conversation_id and takes only the new question.
    query = next((turn.content for turn in reversed(request.messages) if turn.role == "user"), "")
    if request.continues is not None:
        query = instruction_with(request.continues)  # its one question carries the partial
    return {
        "inputs": {},
        "query": query,
        "response_mode": response_mode,
        "conversation_id": request.provider_conversation_id or "",
        "user": request.user_id,
    }


def _chat_url(request: ProviderRequest) -> str:
    return join_url(request.endpoint, "/chat-messages")
