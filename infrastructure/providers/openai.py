"""OpenAI Chat Completions, also spoken by most self-hosted servers (the ``custom`` provider)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import msgspec

from application.provider import (
    ChatTurn,
    Chunk,
    Completion,
    FinishReason,
    ProviderBadResponse,
    ProviderRequest,
    ProviderStreamFailed,
    Usage,
)
from domain.continuation import CONTINUE_INSTRUCTION
from infrastructure.providers.http import (
    ProviderHttp,
    StreamOutcome,
    bearer,
    decode_json,
    join_url,
)
from infrastructure.providers.sse import SseEvent

DONE = "[DONE]"

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "stop",
    "function_call": "stop",
    # The provider cut the answer short on purpose; callers must not present it as whole.
    "content_filter": "error",
}


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class WireUsage(msgspec.Struct):
    """OpenAI's ``usage``; Dify's ``metadata.usage`` has the same first three fields."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int | None = None
    # Servers that do not cache send these as null, or not at all.
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None

    def to_usage(self) -> Usage:
        total = self.total_tokens
        if total is None:
            total = self.prompt_tokens + self.completion_tokens
        prompt_details = self.prompt_tokens_details or _PromptDetails()
        completion_details = self.completion_tokens_details or _CompletionDetails()
        return Usage(
            self.prompt_tokens,
            self.completion_tokens,
            total,
            cached_tokens=prompt_details.cached_tokens or 0,
            reasoning_tokens=completion_details.reasoning_tokens or 0,
        )


class WireError(msgspec.Struct):
    message: str = ""
    type: str | None = None
    code: str | int | None = None


class _Delta(msgspec.Struct):
    content: str | None = None


class _StreamChoice(msgspec.Struct):
    delta: _Delta = msgspec.field(default_factory=_Delta)
    finish_reason: str | None = None


class ChatCompletionChunk(msgspec.Struct):
    choices: list[_StreamChoice] = []
    usage: WireUsage | None = None
    error: WireError | None = None


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class ChatCompletion(msgspec.Struct):
    choices: list[_Choice]
    usage: WireUsage | None = None


class OpenAIProvider:
    """The chat completions exchange; an API that speaks it with a twist (FastGPT's app API)
    subclasses this and overrides the hooks: where it is, what is sent, which events count."""

    accepts_images = True
    answer_type: type[ChatCompletion] = ChatCompletion

    def __init__(self, http: ProviderHttp) -> None:
        self._http = http

    def completions_url(self, request: ProviderRequest) -> str:
        return join_url(request.endpoint, "/chat/completions")

    def body(self, request: ProviderRequest, stream: bool) -> dict[str, object]:
        return chat_body(request, stream)

    def is_answer(self, event: SseEvent, outcome: StreamOutcome) -> bool:
        """Whether `event` carries the answer's chunks (here every event does); an API whose
        other events say something (its token counts, an error) reads them here."""
        return True

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        outcome = StreamOutcome(self._http.provider)
        events = self._http.stream_events(
            self.completions_url(request),
            headers=bearer(request.api_key),
            body=self.body(request, True),
            outcome=outcome,
        )
        async with aclosing(events):
            async for event in events:
                if not self.is_answer(event, outcome):
                    continue
                if event.data == DONE:
                    outcome.finished = True
                    continue
                text = read_chunk(self._http.provider, event.data, outcome)
                if text:
                    yield Chunk(text=text)
        yield outcome.last_chunk()

    async def complete(self, request: ProviderRequest) -> Completion:
        return to_completion(self._http.provider, await self.answer(request))

    async def answer(self, request: ProviderRequest) -> ChatCompletion:
        """The whole answer of a blocking request, as `answer_type`."""
        return await self._http.fetch_json(
            self.completions_url(request),
            headers=bearer(request.api_key),
            body=self.body(request, False),
            answer_type=self.answer_type,
        )

    async def probe(self, request: ProviderRequest) -> float:
        url = join_url(request.endpoint, "/models")
        return await self._http.probe(url, headers=bearer(request.api_key))


def chat_body(request: ProviderRequest, stream: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "model": request.model,
        "messages": [wire_message(turn) for turn in turns_of(request)],
        "stream": stream,
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if stream:
        # Without it OpenAI reports no token usage for streamed answers.
        body["stream_options"] = {"include_usage": True}
    return body


def turns_of(request: ProviderRequest) -> list[ChatTurn]:
    """The conversation, and when continuing, the partial answer as the assistant's turn
    and the instruction to go on from exactly where it stopped."""
    if request.continues is None:
        return request.messages
    partial = ChatTurn("assistant", request.continues)
    return [*request.messages, partial, ChatTurn("user", CONTINUE_INSTRUCTION)]


def wire_message(turn: ChatTurn) -> dict[str, object]:
    if not turn.images:
        return {"role": turn.role, "content": turn.content}
    # A turn with images is a list of parts; the images go as data URLs.
    parts: list[dict[str, object]] = [{"type": "text", "text": turn.content}]
    parts += [
        {
            "type": "image_url",
            "image_url": {"url": f"data:{image.media_type};base64,{image.data_base64}"},
        }
        for image in turn.images
    ]
    return {"role": turn.role, "content": parts}


def read_chunk(provider: str, data: str, outcome: StreamOutcome) -> str:
    """Record a ``chat.completion.chunk``'s usage and finish reason; return its text."""
    chunk = decode_json(provider, data, ChatCompletionChunk)
    if chunk.error is not None:
        code = None if chunk.error.code is None else str(chunk.error.code)
        raise ProviderStreamFailed(provider, chunk.error.message, code=chunk.error.type or code)
    if chunk.usage is not None:
        outcome.usage = chunk.usage.to_usage()
    if not chunk.choices:
        return ""
    choice = chunk.choices[0]
    if choice.finish_reason is not None:
        outcome.finish_reason = finish_reason(choice.finish_reason)
    return choice.delta.content or ""


def to_completion(provider: str, answer: ChatCompletion) -> Completion:
    if not answer.choices:
        raise ProviderBadResponse(provider, "the answer has no choices")
    choice = answer.choices[0]
    return Completion(
        text=choice.message.content or "",
        usage=None if answer.usage is None else answer.usage.to_usage(),
        finish_reason=finish_reason(choice.finish_reason),
    )


def finish_reason(reason: str | None) -> FinishReason:
    return _FINISH_REASONS.get(reason or "stop", "stop")
