"""The port to large language model providers and the values that cross it.

Adapters in ``infrastructure.providers`` translate each provider's wire format
into these types, so use cases never see HTTP, SSE or a provider's JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

import msgspec

FinishReason = Literal["stop", "length", "error", "cancelled"]
"""Why an answer ended, in one vocabulary for every provider."""


class ImagePart(msgspec.Struct, frozen=True):
    """An image sent with a turn, to providers whose adapter says ``accepts_images``."""

    media_type: str
    """image/png, image/jpeg, image/gif or image/webp."""
    data_base64: str


class ChatTurn(msgspec.Struct, frozen=True):
    role: str
    content: str
    images: tuple[ImagePart, ...] = ()


class Usage(msgspec.Struct, frozen=True):
    """Tokens of one answer as the provider reported them (or, if ``estimated``, as we
    counted them because it reported none).

    ``prompt_tokens`` is the whole prompt, cached parts included; ``cached_tokens`` (read
    from the provider's prompt cache) and ``cache_write_tokens`` (written to it) are parts
    of it. ``reasoning_tokens`` is the part of ``completion_tokens`` the model spent
    thinking.
    """

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False


class ProviderRequest(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    endpoint: str
    """Base URL of the provider's API, e.g. ``https://api.openai.com/v1``."""
    api_key: str
    model: str
    messages: list[ChatTurn]
    temperature: float | None = None
    max_tokens: int | None = None
    session_id: str
    """Our conversation id; FastGPT keeps its history under it (``chatId``)."""
    provider_conversation_id: str | None = None
    """Dify's ``conversation_id`` kept from an earlier answer in this session."""
    user_id: str
    continues: str | None = None
    """The partial answer this request asks the provider to continue (after a stream broke
    off): each adapter asks in its API's own way (domain/continuation.py)."""


class Chunk(msgspec.Struct, frozen=True):
    """One normalised piece of a streamed answer.

    A successful stream ends with exactly one chunk whose ``finish_reason`` is
    set; that chunk also carries the usage if the provider reported it.
    """

    text: str = ""
    usage: Usage | None = None
    finish_reason: FinishReason | None = None
    provider_conversation_id: str | None = None


class Completion(msgspec.Struct, frozen=True):
    text: str
    usage: Usage | None = None
    finish_reason: FinishReason | None = None
    provider_conversation_id: str | None = None


class ProviderError(Exception):
    """Base of everything an adapter raises; ``detail`` is safe to show to the user."""

    def __init__(
        self, provider: str, detail: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail
        self.status = status
        """HTTP status the provider answered with, when there was one."""
        self.code = code
        """The provider's own error code or type, e.g. ``overloaded_error``."""


class ProviderUnavailable(ProviderError):
    """Unreachable, too slow to start answering, 5xx, or 429 after the retries."""


class ProviderTimedOut(ProviderUnavailable):
    """No connection, or no answer's head, within its timeout."""


class ProviderBadResponse(ProviderError):
    """The provider answered, but not with something we can use."""


class ProviderRejected(ProviderBadResponse):
    """The provider refused the request with a 4xx: bad key, unknown model, bad parameters."""


class ProviderStreamFailed(ProviderError):
    """A stream broke after it started: an ``error`` event or a dropped connection.

    The chunks yielded before it are genuine; the answer is just incomplete.
    """


def accepts_images(provider: object) -> bool:
    """Whether an adapter sends a turn's ``images`` (it says so with ``accepts_images =
    True``); the others are given a line naming each image instead."""
    return getattr(provider, "accepts_images", False) is True


class ChatProvider(Protocol):
    def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        """Yield the answer as it is generated; see ``Chunk`` for the ending contract.

        Adapters return async generators: a caller that stops early should close
        it (``contextlib.aclosing``) so the connection is released at once.
        """
        ...

    async def complete(self, request: ProviderRequest) -> Completion:
        """Ask for the whole answer in one (non-streaming) response."""
        ...

    async def probe(self, request: ProviderRequest) -> float:
        """Return the seconds the provider took to answer a cheap request.

        Only reachability is checked: any answer below 500 counts, even a
        rejected key. Raises ``ProviderUnavailable`` otherwise.
        """
        ...
