"""Calls into a provider adapter shared by the in-memory and the over-HTTP provider tests."""

from __future__ import annotations

import pytest

from application.provider import ChatProvider, ChatTurn, Chunk, ProviderRequest
from infrastructure.providers.http import ProviderTimeouts

# Short enough to keep fault tests fast, long enough for a loaded CI machine.
FAST = ProviderTimeouts(connect=1, first_byte=2, read=2, retries=2, backoff=0.01)


CONVERSATION = [
    ChatTurn("system", "Be brief."),
    ChatTurn("user", "Hi"),
    ChatTurn("assistant", "Hello!"),
    ChatTurn("user", "Say 你好"),
]


async def read_all(provider: ChatProvider, request: ProviderRequest) -> list[Chunk]:
    return [chunk async for chunk in provider.stream(request)]


async def read_until_failure(
    provider: ChatProvider, request: ProviderRequest, error: type[Exception]
) -> tuple[str, Exception]:
    """The text streamed before ``error`` was raised, and the error."""
    text = ""
    with pytest.raises(error) as raised:
        async for chunk in provider.stream(request):
            text += chunk.text
    return text, raised.value
