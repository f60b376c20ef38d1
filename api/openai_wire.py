"""OpenAI's chat-completions wire format: the request LLMChat accepts at /v1, the answers and
stream chunks it sends back, and OpenAI-shaped errors.

Unknown request fields are ignored, as OpenAI's own clients send many (`top_p`, `seed`,
`frequency_penalty`, ...); the few that would change the answer's shape are refused.
"""

import re
from typing import Any, Literal

import msgspec

from application.errors import ValidationFailed
from application.provider import ChatTurn
from application.reply_frames import ReplyUsage

# OpenAI's "developer" role is its newer name for "system".
ROLE_OF = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ContentPart(msgspec.Struct):
    type: str
    text: str | None = None


class OpenAIMessage(msgspec.Struct):
    role: str
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ChatCompletionRequest(msgspec.Struct):
    """OpenAI's request body; fields not named here are accepted and ignored."""

    model: str
    messages: list[OpenAIMessage]
    stream: bool | None = False
    temperature: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    n: int | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens else self.max_tokens

    @property
    def wants_usage_chunk(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)


class OpenAIRequestError(ValidationFailed):
    """A 400 that names the offending request field, as OpenAI's `param` does."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def text_of(index: int, message: OpenAIMessage) -> str:
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    if any(part.type != "text" for part in content):
        raise OpenAIRequestError(
            f"messages[{index}].content", "Only text content parts are supported"
        )
    return "\n".join(part.text or "" for part in content)


def chat_turns(request: ChatCompletionRequest) -> list[ChatTurn]:
    turns = []
    for index, message in enumerate(request.messages):
        role = ROLE_OF.get(message.role)
        if role is None:
            allowed = ", ".join(ROLE_OF)
            raise OpenAIRequestError(f"messages[{index}].role", f"role must be one of {allowed}")
        turns.append(ChatTurn(role, text_of(index, message)))
    return turns


def check_request(request: ChatCompletionRequest) -> None:
    """What SendMessage cannot know about: OpenAI's own fields, named as OpenAI names them."""
    if request.n is not None and request.n != 1:
        raise OpenAIRequestError("n", "Only n=1 is supported")
    if request.temperature is not None and not 0 <= request.temperature <= 2:
        raise OpenAIRequestError("temperature", "temperature must be between 0 and 2")
    limit = request.token_limit
    if limit is not None and limit < 1:
        param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        raise OpenAIRequestError(param, f"{param} must be at least 1")


# --- answers -------------------------------------------------------------------------------


class PromptTokensDetails(msgspec.Struct):
    cached_tokens: int


class CompletionTokensDetails(msgspec.Struct):
    reasoning_tokens: int


class Usage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails
    completion_tokens_details: CompletionTokensDetails


class AssistantMessage(msgspec.Struct):
    role: Literal["assistant"]
    content: str


class Choice(msgspec.Struct):
    index: int
    message: AssistantMessage
    finish_reason: str


class ChatCompletion(msgspec.Struct):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class Model(msgspec.Struct):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(msgspec.Struct):
    object: Literal["list"]
    data: list[Model]


class OpenAIErrorDetail(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(msgspec.Struct):
    error: OpenAIErrorDetail


def usage_of(usage: ReplyUsage) -> Usage:
    """OpenAI's usage from a reply's: the ledger's figures."""
    return Usage(
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        PromptTokensDetails(usage.cached_tokens),
        CompletionTokensDetails(usage.reasoning_tokens),
    )


def completion_id(message_id: str) -> str:
    # The reply's own id inside: it is also the stream id of /api/chat/streams/{messageId}.
    return f"chatcmpl-{message_id}"


def chunk(
    ids: "CompletionIds", delta: dict[str, str], finish: str | None, usage: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ids.id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": ids.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = None  # as OpenAI: null on every chunk but the usage chunk
    return body


def usage_chunk(ids: "CompletionIds", usage: Usage) -> dict[str, Any]:
    return {
        "id": ids.id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": ids.model,
        "choices": [],
        "usage": msgspec.to_builtins(usage),
    }


class CompletionIds(msgspec.Struct, frozen=True):
    """What every chunk of one completion repeats."""

    id: str
    created: int
    model: str


# --- errors --------------------------------------------------------------------------------

# HTTP status -> (OpenAI error type, code)
ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
}

FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


def param_of(message: str) -> str | None:
    """`messages[2].role: ...` names the field it is about, as LLMChat's messages do."""
    match = FIELD_PREFIX.match(message)
    return match.group(1) if match else None


def openai_error(status: int, message: str, param: str | None = None) -> OpenAIError:
    kind, code = ERROR_KINDS.get(status, ("server_error" if status >= 500 else "api_error", None))
    return OpenAIError(OpenAIErrorDetail(message, kind, param or param_of(message), code))


def quota_error(message: str) -> OpenAIError:
    """A spent budget, as OpenAI says a spent quota (429 with this type and code)."""
    return OpenAIError(OpenAIErrorDetail(message, QUOTA, None, QUOTA))


QUOTA = "insufficient_quota"
