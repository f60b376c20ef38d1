"""Fallbacks: the agents asked in turn when one fails before its first word, and those
asked to continue a reply whose agent failed mid-answer.

A reply is asked of its agent first; when that fails before any text arrived, and for a
reason another agent may not share (unreachable, slow, rate-limited, a server fault), the
agent's `fallbacks` are asked in order within the same reply. A provider that refuses the
request (401, 403, 400 and the other 4xx) points at the agent's configuration: asking
another agent would hide it, so the reply fails with that error.

An agent that fails after text was stored (its stream cut, an error event, silence) is
asked once more, to continue the stored text, then the fallbacks are, each asked to
continue it (see domain/continuation.py), at most `Chat.max_continuations` times.
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
    Usage,
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
        self.asked_again: set[str] = set()
        """Agents already asked once more, to continue the reply they broke off."""

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

    def reach(self, agent_id: str) -> bool:
        """Move on to the fallback `agent_id` (a reply taken over where its run had got
        to); False if it is not among those left."""
        while self.next() is not None:
            if self.current.agent.id == agent_id:
                return True
        return False

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

    def continuing(self, text: str, conversation_id: str | None, broke_off: bool) -> Target | None:
        """The target asked to continue `text` (it becomes `current`): the agent that broke
        off mid-answer, once, then the next usable fallback (so is one that failed before
        its first word); None when none is left."""
        current = self.current
        if broke_off and current.agent.id not in self.asked_again:
            self.asked_again.add(current.agent.id)
            # Dify's conversation id, if the broken answer gave one, holds the question.
            kept = conversation_id or current.request.provider_conversation_id
            request = msgspec.structs.replace(
                current.request, continues=text, provider_conversation_id=kept
            )
        else:
            following = self.next()
            if following is None:
                return None
            current = following
            request = msgspec.structs.replace(following.request, continues=text)
        self.current = Target(current.agent, current.provider, request)
        return self.current

    @property
    def answered_by_first(self) -> bool:
        return self.current.agent.id == self.first.agent.id


def error_text(error: ProviderError) -> str:
    """What a reply's events keep of a provider's error."""
    return storable(f"{error.provider}: {error.detail}", MAX_ERROR_MESSAGE)


def failed_attempt(
    session_id: str,
    failed: Target,
    error: ProviderError,
    reason: str,
    next_agent: str | None,
    stored_chars: int = 0,
    used: Usage | None = None,
) -> ReplyAttemptFailed:
    used = used or Usage(0, 0, 0)
    return ReplyAttemptFailed(
        session_id=session_id,
        agent_id=failed.agent.id,
        provider=failed.request.provider,
        model=storable(failed.request.model, MAX_MODEL),
        reason=reason,
        status=error.status,
        error_message=error_text(error),
        next_agent_id=next_agent,
        stored_chars=stored_chars,
        prompt_tokens=used.prompt_tokens,
        completion_tokens=used.completion_tokens,
        cached_tokens=used.cached_tokens,
        cache_write_tokens=used.cache_write_tokens,
        reasoning_tokens=used.reasoning_tokens,
        usage_estimated=used.estimated,
    )
