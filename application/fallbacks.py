"""Fallbacks: the agents asked in turn when one fails before its first word.

A reply is asked of its agent first; when that fails before any text arrived, and for a
reason another agent may not share (unreachable, slow, rate-limited, a server fault), the
agent's `fallbacks` are asked in order within the same reply. A provider that refuses the
request (401, 403, 400 and the other 4xx) points at the agent's configuration: asking
another agent would hide it, so the reply fails with that error.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from application.agents import AgentProfile
from application.provider import (
    ChatProvider,
    ProviderBadResponse,
    ProviderError,
    ProviderRejected,
    ProviderRequest,
    ProviderStreamFailed,
    ProviderTimedOut,
)
from domain.agent import MAX_MODEL
from domain.reply_stream import ReplyAttemptFailed
from domain.text import storable

if TYPE_CHECKING:
    from application.chat import Chat

MAX_ERROR_MESSAGE = 1000
REJECTED = "rejected"


def failure_reason(error: ProviderError) -> str:
    """Why an attempt ended, in the words of `ReplyAttemptFailed.reason` and the metric."""
    if isinstance(error, ProviderRejected):
        return REJECTED
    if isinstance(error, ProviderStreamFailed):
        return "stream_error"
    if isinstance(error, ProviderBadResponse):
        return "bad_response"
    if isinstance(error, ProviderTimedOut) or error.status == 408:
        return "timeout"
    if error.status == 429:
        return "rate_limited"
    if error.status is not None:
        return "server_error"
    return "unreachable"


@dataclass(frozen=True, slots=True)
class Target:
    """One agent a reply may be asked of, with the request that asks it."""

    agent: AgentProfile
    provider: ChatProvider
    request: ProviderRequest


class Targets:
    """The reply's agent, then its fallbacks, each looked up when it is reached: one that
    is unknown or inactive by then, or whose provider this process lacks, is skipped."""

    def __init__(
        self,
        chat: "Chat",
        first: Target,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.chat = chat
        self.current = first
        self.first = first
        self.waiting = list(first.agent.fallbacks)
        self.temperature, self.max_tokens = temperature, max_tokens

    @property
    def has_fallbacks(self) -> bool:
        return bool(self.first.agent.fallbacks)

    def next(self) -> Target | None:
        """The next usable fallback (it becomes `current`), or None when none is left."""
        while self.waiting:
            agent = self.chat.agents.find(self.waiting.pop(0))
            provider = None if agent is None else self.chat.providers.get(agent.provider)
            if agent is None or agent.status != "active" or provider is None:
                continue
            self.current = Target(agent, provider, self.request_for(agent))
            return self.current
        return None

    def request_for(self, agent: AgentProfile) -> ProviderRequest:
        # The conversation's provider-side id (Dify's) belongs to the reply's own agent.
        return msgspec.structs.replace(
            self.first.request,
            provider=agent.provider,
            endpoint=agent.endpoint,
            api_key=self.chat.agents.api_key(agent.id),
            model=agent.model,
            temperature=self.temperature if self.temperature is not None else agent.temperature,
            max_tokens=self.max_tokens if self.max_tokens is not None else agent.max_tokens,
            provider_conversation_id=None,
        )

    @property
    def answered_by_first(self) -> bool:
        return self.current is self.first


def error_text(error: ProviderError) -> str:
    """What a reply's events keep of a provider's error."""
    return storable(f"{error.provider}: {error.detail}", MAX_ERROR_MESSAGE)


def failed_attempt(
    session_id: str, failed: Target, error: ProviderError, reason: str, next_agent: str | None
) -> ReplyAttemptFailed:
    return ReplyAttemptFailed(
        session_id=session_id,
        agent_id=failed.agent.id,
        provider=failed.request.provider,
        model=storable(failed.request.model, MAX_MODEL),
        reason=reason,
        status=error.status,
        error_message=error_text(error),
        next_agent_id=next_agent,
    )
