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
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    def prompt_tokens(self) -> int:
        # input_tokens leaves out the cached part of the prompt; the prompt is all three.
        cached = (self.cache_creation_input_tokens or 0) + (self.cache_read_input_tokens or 0)
        return self.input_tokens + cached


class _WireError(msgspec.Struct):
    type: str | None = None
    message: str = ""


class _StartedMessage(msgspec.Struct):
    usage: _WireUsage = msgspec.field(default_factory=_WireUsage)


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
            usage=None if usage is None else _to_usage(usage.prompt_tokens(), usage.output_tokens),
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
            tokens.prompt = event.message.usage.prompt_tokens()
            tokens.completion = event.message.usage.output_tokens
        elif event.type == "message_delta":
            if event.delta is not None and event.delta.stop_reason is not None:
                outcome.finish_reason = finish_reason(event.delta.stop_reason)
            if event.usage is not None:
                tokens.completion = event.usage.output_tokens  # cumulative, not a delta
        elif event.type == "message_stop":
            outcome.finished = True
        elif event.type == "error":
            error = event.error or _WireError()
            raise ProviderStreamFailed(self._http.provider, error.message, code=error.type)
        return ""


@dataclass
class _TokenCount:
    prompt: int | None = None
    completion: int = 0

    def usage(self) -> Usage | None:
        if self.prompt is None:
            return None
        return _to_usage(self.prompt, self.completion)


def messages_body(request: ProviderRequest, stream: bool) -> dict[str, object]:
    system = "\n\n".join(turn.content for turn in request.messages if turn.role == "system")
    body: dict[str, object] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": [wire_message(turn) for turn in request.messages if turn.role != "system"],
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


def _to_usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt, completion, prompt + completion)


def _headers(request: ProviderRequest) -> dict[str, str]:
    return {"x-api-key": request.api_key, "anthropic-version": API_VERSION}


def _messages_url(request: ProviderRequest) -> str:
    return join_url(request.endpoint, "/v1/messages")
