"""Anthropic Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

import msgspec

from application.provider import (
    ChatTurn,
    Chunk,
    Completion,
    FinishReason,
    ProviderRequest,
    ProviderStreamFailed,
    Usage,
)
from domain.continuation import prefill
from infrastructure.providers.http import ProviderHttp, StreamOutcome, decode_json, join_url

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
"""Anthropic requires ``max_tokens``; this applies when the agent sets none."""

_FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "error",
}


class _WireUsage(msgspec.Struct):
    # None when left out: message_delta repeats only some of them (always output_tokens).
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    def merged(self, later: _WireUsage) -> _WireUsage:
        """These figures updated by a later event's: each is cumulative, not a delta."""
        return _WireUsage(
            input_tokens=_later(self.input_tokens, later.input_tokens),
            output_tokens=_later(self.output_tokens, later.output_tokens),
            cache_creation_input_tokens=_later(
                self.cache_creation_input_tokens, later.cache_creation_input_tokens
            ),
            cache_read_input_tokens=_later(
                self.cache_read_input_tokens, later.cache_read_input_tokens
            ),
        )

    def to_usage(self) -> Usage:
        # input_tokens leaves out the cached part of the prompt; the prompt is all three.
        read = self.cache_read_input_tokens or 0
        written = self.cache_creation_input_tokens or 0
        prompt = (self.input_tokens or 0) + read + written
        completion = self.output_tokens or 0
        return Usage(
            prompt,
            completion,
            prompt + completion,
            cached_tokens=read,
            cache_write_tokens=written,
        )


def _later(earlier: int | None, later: int | None) -> int | None:
    return earlier if later is None else later


class _WireError(msgspec.Struct):
    type: str | None = None
    message: str = ""


class _StartedMessage(msgspec.Struct):
    usage: _WireUsage | None = None


class _Delta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    stop_reason: str | None = None


class _StreamEvent(msgspec.Struct):
    """Every streamed event type in one shape; each fills only its own fields."""

    type: str
    message: _StartedMessage | None = None
    delta: _Delta | None = None
    usage: _WireUsage | None = None
    error: _WireError | None = None


class _ContentBlock(msgspec.Struct):
    type: str
    text: str = ""


class _Message(msgspec.Struct):
    content: list[_ContentBlock]
    stop_reason: str | None = None
    usage: _WireUsage | None = None


class AnthropicProvider:
    accepts_images = True

    def __init__(self, http: ProviderHttp) -> None:
        self._http = http

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        outcome = StreamOutcome(self._http.provider)
        tokens = _TokenCount()
        events = self._http.stream_events(
            _messages_url(request),
            headers=_headers(request),
            body=messages_body(request, True),
            outcome=outcome,
        )
        async with aclosing(events):
            async for event in events:
                text = self._read_event(event.data, outcome, tokens)
                if text:
                    yield Chunk(text=text)
        outcome.usage = tokens.usage()
        yield outcome.last_chunk()

    async def complete(self, request: ProviderRequest) -> Completion:
        answer = await self._http.fetch_json(
            _messages_url(request),
            headers=_headers(request),
            body=messages_body(request, False),
            answer_type=_Message,
        )
        usage = answer.usage
        return Completion(
            text="".join(block.text for block in answer.content if block.type == "text"),
            usage=None if usage is None else usage.to_usage(),
            finish_reason=finish_reason(answer.stop_reason),
        )

    async def probe(self, request: ProviderRequest) -> float:
        url = join_url(request.endpoint, "/v1/models")
        return await self._http.probe(url, headers=_headers(request))

    def _read_event(self, data: str, outcome: StreamOutcome, tokens: _TokenCount) -> str:
        event = decode_json(self._http.provider, data, _StreamEvent)
        if event.type == "content_block_delta" and event.delta and event.delta.type == "text_delta":
            return event.delta.text or ""
        if event.type == "message_start" and event.message is not None:
            tokens.reported = event.message.usage
        elif event.type == "message_delta":
            if event.delta is not None and event.delta.stop_reason is not None:
                outcome.finish_reason = finish_reason(event.delta.stop_reason)
            if event.usage is not None and tokens.reported is not None:
                tokens.reported = tokens.reported.merged(event.usage)
        elif event.type == "message_stop":
            outcome.finished = True
        elif event.type == "error":
            error = event.error or _WireError()
            raise ProviderStreamFailed(self._http.provider, error.message, code=error.type)
        return ""


@dataclass
class _TokenCount:
    reported: _WireUsage | None = None
    """message_start's usage, updated by each message_delta's."""

    def usage(self) -> Usage | None:
        return None if self.reported is None else self.reported.to_usage()


def messages_body(request: ProviderRequest, stream: bool) -> dict[str, object]:
    system = "\n\n".join(turn.content for turn in request.messages if turn.role == "system")
    messages = [wire_message(turn) for turn in request.messages if turn.role != "system"]
    if request.continues is not None and prefill(request.continues):
        # Anthropic continues an assistant turn left last as it is (a prefill): the answer
        # is only the rest.
        messages.append({"role": "assistant", "content": prefill(request.continues)})
    body: dict[str, object] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
        "stream": stream,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


def wire_message(turn: ChatTurn) -> dict[str, object]:
    if not turn.images:
        return {"role": turn.role, "content": turn.content}
    # Anthropic advises images before the text that asks about them.
    blocks: list[dict[str, object]] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.media_type,
                "data": image.data_base64,
            },
        }
        for image in turn.images
    ]
    blocks.append({"type": "text", "text": turn.content})
    return {"role": turn.role, "content": blocks}


def finish_reason(reason: str | None) -> FinishReason:
    return _FINISH_REASONS.get(reason or "end_turn", "stop")


def _headers(request: ProviderRequest) -> dict[str, str]:
    return {"x-api-key": request.api_key, "anthropic-version": API_VERSION}


def _messages_url(request: ProviderRequest) -> str:
    return join_url(request.endpoint, "/v1/messages")
