"""A local stand-in provider so people without any provider key can try the chat."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from application.provider import Chunk, Completion, ProviderRequest, Usage
from domain.usage import estimated_prompt_tokens, estimated_tokens

_ECHO_LIMIT = 200
_WORD = re.compile(r"\S+\s*|\s+")


class DemoProvider:
    def __init__(self, delay: float = 0.02) -> None:
        """``delay`` is the pause between chunks, so the demo looks like a real stream."""
        self._delay = delay

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        reply = demo_reply(request)
        for word in _WORD.findall(reply):
            if self._delay > 0:
                await asyncio.sleep(self._delay)
            yield Chunk(text=word)
        yield Chunk(usage=_estimate_usage(request, reply), finish_reason="stop")

    async def complete(self, request: ProviderRequest) -> Completion:
        reply = demo_reply(request)
        return Completion(text=reply, usage=_estimate_usage(request, reply), finish_reason="stop")

    async def probe(self, request: ProviderRequest) -> float:
        return 0.0


def demo_reply(request: ProviderRequest) -> str:
    said = next((turn.content for turn in reversed(request.messages) if turn.role == "user"), "")
    said = " ".join(said.split())
    if len(said) > _ECHO_LIMIT:
        said = said[: _ECHO_LIMIT - 1] + "…"
    return (
        "[Demo reply] No AI provider is configured, so this answer was written locally "
        f'and only repeats you: "{said}". Add an API key to an agent to talk to a real model.'
    )


def _estimate_usage(request: ProviderRequest, reply: str) -> Usage:
    # Nothing was really tokenized: the ledger shows the demo's figures as estimates.
    prompt = estimated_prompt_tokens(turn.content for turn in request.messages)
    completion = estimated_tokens(reply)
    return Usage(prompt, completion, prompt + completion, estimated=True)
