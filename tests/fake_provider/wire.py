"""What each fake provider sends back: SSE frames and JSON bodies in the real wire formats."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import msgspec

from domain.continuation import CUT_OFF, PARTIAL_CLOSE, PARTIAL_OPEN

REPLY_TEXT = (
    "Hello from the fake provider! 你好世界。 Every reply is this same text, "
    "cut into pieces so streaming, usage and multi-byte UTF-8 (ünïcödé, 🚀) get exercised."
)
PROMPT_TOKENS = 11
"""Every answer's prompt, as the provider counts it; of which it says CACHED_TOKENS came
from its prompt cache (and, for Anthropic, CACHE_WRITE_TOKENS went into it)."""
CACHED_TOKENS = 4
CACHE_WRITE_TOKENS = 2
REASONING_TOKENS = 3
"""The part of the completion spent reasoning, where the wire format says so (OpenAI)."""
STREAM_ERROR_MESSAGE = "Overloaded: the fake provider gave up mid-answer"
STREAM_ERROR_CODE = "overloaded_error"


class Usage(msgspec.Struct, frozen=True):
    prompt: int
    completion: int
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0
    reported: bool = True
    """False for ``usage=none``: the answer carries no usage at all."""

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def reply_pieces(count: int) -> list[str]:
    """``REPLY_TEXT`` in ``count`` pieces of near-equal length (at most one per character)."""
    count = max(1, min(count, len(REPLY_TEXT)))
    size, extra = divmod(len(REPLY_TEXT), count)
    pieces, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(REPLY_TEXT[start:end])
        start = end
    return pieces


def pieces_from(pieces: list[str], start: int) -> list[str]:
    """What of ``pieces`` (the whole reply) follows character ``start``, piece by piece."""
    rest, offset = [], 0
    for piece in pieces:
        end = offset + len(piece)
        if end > start:
            rest.append(piece[max(0, start - offset) :])
        offset = end
    return rest


_PARTIAL = re.compile(re.escape(PARTIAL_OPEN) + "(.*)" + re.escape(PARTIAL_CLOSE), re.DOTALL)


def continued_from(body: dict[str, Any]) -> int:
    """Where in ``REPLY_TEXT`` a request asks the answer to go on: 0 for a new answer, or
    the length of the partial reply it asks to continue, as a model would read it: an
    assistant turn last (Anthropic's prefill), a question holding the partial between
    tags (FastGPT, Dify), or the instruction after the partial as the assistant's turn."""
    partial = _partial(body)
    if partial and len(partial) < len(REPLY_TEXT) and REPLY_TEXT.startswith(partial):
        return len(partial)
    return 0


def _partial(body: dict[str, Any]) -> str | None:
    messages = body.get("messages")
    turns = [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    if turns and turns[-1].get("role") == "assistant":
        return _text(turns[-1])
    question = _text(turns[-1]) if turns else str(body.get("query") or "")
    found = _PARTIAL.search(question)
    if found:
        return found[1]
    if CUT_OFF in question and len(turns) > 1 and turns[-2].get("role") == "assistant":
        return _text(turns[-2])
    return None


def _text(turn: dict[str, Any]) -> str:
    content = turn.get("content")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def sse(data: object, event: str | None = None) -> bytes:
    payload = data.encode() if isinstance(data, str) else msgspec.json.encode(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


class OpenAIWire:
    """OpenAI Chat Completions; FastGPT and ``custom`` servers speak it too."""

    finish_default = "stop"

    def __init__(self, body: dict[str, Any], finish: str | None) -> None:
        self.model = str(body.get("model", ""))
        self.streaming = body.get("stream") is True
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self.finish = finish or self.finish_default
        self._id = f"chatcmpl-{uuid.uuid4().hex[:12]}"

    def opening(self) -> list[bytes]:
        return [self._frame(self._chunk({"role": "assistant", "content": ""}, None))]

    def text(self, piece: str) -> bytes:
        return self._frame(self._chunk({"content": piece}, None))

    def closing(self, usage: Usage) -> list[bytes]:
        frames = [self._frame(self._chunk({}, self.finish))]
        if self.include_usage and usage.reported:
            last = {**self._chunk({}, None), "choices": [], "usage": _openai_usage(usage)}
            frames.append(self._frame(last))
        return [*frames, self._frame("[DONE]")]

    def stream_error(self) -> bytes:
        error = {"message": STREAM_ERROR_MESSAGE, "type": STREAM_ERROR_CODE, "code": None}
        return self._frame({"error": error})

    def malformed_frame(self) -> bytes:
        return b'data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n'

    def answer(self, text: str, usage: Usage) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": self.finish,
                }
            ],
            **({"usage": _openai_usage(usage)} if usage.reported else {}),
        }

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return {"error": {"message": message, "type": kind, "code": kind}}

    def _chunk(self, delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _frame(self, data: object) -> bytes:
        return sse(data)


class FastGPTWire(OpenAIWire):
    """FastGPT: OpenAI chunks, wrapped in named events when the client asks for ``detail``."""

    def __init__(self, body: dict[str, Any], finish: str | None) -> None:
        super().__init__(body, finish)
        self.detail = body.get("detail") is True
        self.include_usage = False  # FastGPT streams report no usage

    def opening(self) -> list[bytes]:
        status = self._detail_frame({"status": "running", "name": "AI 对话"}, "flowNodeStatus")
        return [*status, *super().opening()]

    def closing(self, usage: Usage) -> list[bytes]:
        *answer, done = super().closing(usage)
        return [*answer, *self._detail_frame(self._nodes(usage), "flowResponses"), done]

    def stream_error(self) -> bytes:
        return sse({"message": STREAM_ERROR_MESSAGE}, "error")

    def malformed_frame(self) -> bytes:
        return b"event: answer\n" + super().malformed_frame()

    def answer(self, text: str, usage: Usage) -> dict[str, Any]:
        answer = {**super().answer(text, usage), "responseData": self._nodes(usage)}
        if usage.reported:
            # As FastGPT: its OpenAI-style usage is a placeholder, the nodes have the count.
            answer["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        return answer

    def _nodes(self, usage: Usage) -> list[dict[str, Any]]:
        node: dict[str, Any] = {"moduleName": "AI 对话", "moduleType": "chatNode"}
        node["model"] = self.model
        if usage.reported:
            node |= {"tokens": usage.total, "inputTokens": usage.prompt}
            node["outputTokens"] = usage.completion
        start = {"moduleName": "流程开始", "moduleType": "workflowStart", "runningTime": 0}
        return [start, node]

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"code": status, "statusText": "fake_error", "message": message}

    def _frame(self, data: object) -> bytes:
        return sse(data, "answer" if self.detail else None)

    def _detail_frame(self, data: object, event: str) -> list[bytes]:
        return [sse(data, event)] if self.detail else []


class AnthropicWire:
    finish_default = "end_turn"

    def __init__(self, body: dict[str, Any], finish: str | None, usage: Usage) -> None:
        self.model = str(body.get("model", ""))
        self.streaming = body.get("stream") is True
        self.finish = finish or self.finish_default
        self._id = f"msg_{uuid.uuid4().hex[:12]}"
        self._usage = usage

    def opening(self) -> list[bytes]:
        message = self._message([], None)
        if self._usage.reported:
            message["usage"] = {**_anthropic_prompt(self._usage), "output_tokens": 1}
        block = {"type": "content_block_start", "index": 0}
        return [
            sse({"type": "message_start", "message": message}, "message_start"),
            sse({**block, "content_block": {"type": "text", "text": ""}}, "content_block_start"),
            sse({"type": "ping"}, "ping"),
        ]

    def text(self, piece: str) -> bytes:
        delta = {"type": "content_block_delta", "index": 0}
        return sse({**delta, "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")

    def closing(self, usage: Usage) -> list[bytes]:
        delta: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": self.finish, "stop_sequence": None},
        }
        if usage.reported:
            delta["usage"] = {"output_tokens": usage.completion}
        return [
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse(delta, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]

    def stream_error(self) -> bytes:
        error = {"type": STREAM_ERROR_CODE, "message": STREAM_ERROR_MESSAGE}
        return sse({"type": "error", "error": error}, "error")

    def malformed_frame(self) -> bytes:
        return b"event: content_block_delta\ndata: {garbage\n\n"

    def answer(self, text: str, usage: Usage) -> dict[str, Any]:
        message = self._message([{"type": "text", "text": text}], self.finish)
        if usage.reported:
            message["usage"] = {**_anthropic_prompt(usage), "output_tokens": usage.completion}
        return message

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def _message(self, content: list[dict[str, str]], stop: str | None) -> dict[str, Any]:
        return {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
        }


class DifyWire:
    finish_default = ""

    def __init__(self, body: dict[str, Any], finish: str | None) -> None:
        self.streaming = body.get("response_mode") == "streaming"
        kept = body.get("conversation_id")
        self.conversation_id = kept if isinstance(kept, str) and kept else str(uuid.uuid4())
        self._ids = {"task_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4())}

    def opening(self) -> list[bytes]:
        return [b"event: ping\n\n"]  # Dify's keep-alive has no data, so it is no SSE event

    def text(self, piece: str) -> bytes:
        return sse({"event": "message", **self._common(), "answer": piece})

    def closing(self, usage: Usage) -> list[bytes]:
        return [sse({"event": "message_end", **self._common(), "metadata": _dify_metadata(usage)})]

    def stream_error(self) -> bytes:
        error = {"status": 500, "code": STREAM_ERROR_CODE, "message": STREAM_ERROR_MESSAGE}
        return sse({"event": "error", **self._ids, **error})

    def malformed_frame(self) -> bytes:
        return b'data: {"event": "message", "answer": \n\n'

    def answer(self, text: str, usage: Usage) -> dict[str, Any]:
        return {
            "event": "message",
            **self._common(),
            "id": self._ids["message_id"],
            "mode": "chat",
            "answer": text,
            "metadata": _dify_metadata(usage),
        }

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"code": "fake_error", "message": message, "status": status}

    def _common(self) -> dict[str, Any]:
        return {
            **self._ids,
            "conversation_id": self.conversation_id,
            "created_at": int(time.time()),
        }


Wire = OpenAIWire | AnthropicWire | DifyWire


def wire_for(path: str, body: dict[str, Any], finish: str | None, usage: Usage) -> Wire | None:
    """The wire format a request path asks for, or None for an unknown path; ``usage`` is
    what an Anthropic stream announces before its first word."""
    if path.endswith("/chat/completions"):
        fastgpt = "detail" in body or "chatId" in body
        return FastGPTWire(body, finish) if fastgpt else OpenAIWire(body, finish)
    if path.endswith("/chat-messages"):
        return DifyWire(body, finish)
    if path.endswith("/messages"):
        return AnthropicWire(body, finish, usage)
    return None


def _openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.total,
        "prompt_tokens_details": {"cached_tokens": usage.cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning, "audio_tokens": 0},
    }


def _anthropic_prompt(usage: Usage) -> dict[str, int]:
    # Anthropic's input_tokens is the prompt less what was read from or written to its cache.
    return {
        "input_tokens": usage.prompt - usage.cached - usage.cache_write,
        "cache_read_input_tokens": usage.cached,
        "cache_creation_input_tokens": usage.cache_write,
    }


def _dify_metadata(usage: Usage) -> dict[str, Any]:
    if not usage.reported:
        return {"retriever_resources": []}
    return {"usage": _dify_usage(usage), "retriever_resources": []}


def _dify_usage(usage: Usage) -> dict[str, Any]:
    # Dify's LLMUsage counts the prompt and the completion, nothing about caching.
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.total,
        "prompt_unit_price": "0.001",
        "prompt_price": "0.0000110",
        "completion_unit_price": "0.002",
        "total_price": "0.0000750",
        "currency": "USD",
        "latency": 0.01,
    }


def reported_usage(provider: str, chunks: int = 32) -> Usage:
    """What an answer of ``chunks`` pieces reports to an adapter of ``provider``: only the
    figures its wire format has (Dify and FastGPT say nothing about caching, Anthropic
    nothing about reasoning, OpenAI nothing about cache writes)."""
    completion = len(reply_pieces(chunks))
    if provider in ("openai", "custom"):
        return Usage(PROMPT_TOKENS, completion, cached=CACHED_TOKENS, reasoning=REASONING_TOKENS)
    if provider == "anthropic":
        written = CACHE_WRITE_TOKENS
        return Usage(PROMPT_TOKENS, completion, cached=CACHED_TOKENS, cache_write=written)
    return Usage(PROMPT_TOKENS, completion)
