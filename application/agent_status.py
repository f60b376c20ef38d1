"""AgentStatus: is an agent's provider reachable right now, asked of the provider itself.

Probes are cached briefly per agent, so a dashboard polling many agents does not turn
into a stream of requests to the providers (which may count them against a quota).
"""

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from application.agents import AgentDirectory, AgentProfile
from application.errors import NotFound
from application.ports import Clock
from application.provider import ChatProvider, ProviderError, ProviderRequest

CACHE_SECONDS = 10.0
# A status answer is for a person looking at a screen; a provider slower than this to
# answer a trivial request counts as unreachable.
PROBE_LIMIT = 8.0
ERROR_LIMIT = 200


@dataclass(frozen=True, slots=True)
class AgentStatus:
    agent_id: str
    provider: str
    reachable: bool
    latency_ms: float | None
    checked_at: datetime
    error: str | None = None


@dataclass(slots=True)
class CachedStatus:
    target: tuple[str, str, str]
    at: float
    status: AgentStatus


class AgentHealth:
    def __init__(
        self,
        directory: AgentDirectory,
        providers: Mapping[str, ChatProvider],
        clock: Clock,
        cache_seconds: float = CACHE_SECONDS,
        probe_limit: float = PROBE_LIMIT,
    ) -> None:
        self._directory = directory
        self._providers = providers
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._probe_limit = probe_limit
        self._cache: dict[str, CachedStatus] = {}
        self._probing: dict[str, asyncio.Lock] = {}

    async def check(self, agent_id: str) -> AgentStatus:
        profile = self._directory.find(agent_id)
        if profile is None:
            raise NotFound("Agent not found", f"no agent with id {agent_id!r}")
        why = self._directory.unavailable(agent_id)
        if why is not None:
            return self._unreachable(profile, self._clock.now(), why)
        # A new endpoint or key is a new target: the old answer says nothing about it.
        target = (profile.provider, profile.endpoint, self._directory.api_key(agent_id))
        # Concurrent requests for one agent share one probe instead of each sending one.
        async with self._probing.setdefault(agent_id, asyncio.Lock()):
            cached = self._cache.get(agent_id)
            if (
                cached is not None
                and cached.target == target
                and time.monotonic() - cached.at < self._cache_seconds
            ):
                return cached.status
            status = await self._probe(profile, target[2])
            self._cache[agent_id] = CachedStatus(target, time.monotonic(), status)
            return status

    async def _probe(self, profile: AgentProfile, api_key: str) -> AgentStatus:
        provider = self._providers.get(profile.provider)
        checked_at = self._clock.now()
        if provider is None:
            return self._unreachable(profile, checked_at, "no adapter for this provider")
        request = ProviderRequest(
            provider=profile.provider,
            endpoint=profile.endpoint,
            api_key=api_key,
            model=profile.model,
            messages=[],
            session_id="",
            user_id="",
        )
        try:
            async with asyncio.timeout(self._probe_limit):
                seconds = await provider.probe(request)
        except TimeoutError:
            return self._unreachable(
                profile, checked_at, f"no answer within {self._probe_limit:g}s"
            )
        except ProviderError as error:
            return self._unreachable(profile, checked_at, short(error.detail, api_key))
        return AgentStatus(
            agent_id=profile.id,
            provider=profile.provider,
            reachable=True,
            latency_ms=round(seconds * 1000, 1),
            checked_at=checked_at,
        )

    def _unreachable(self, profile: AgentProfile, checked_at: datetime, error: str) -> AgentStatus:
        return AgentStatus(
            agent_id=profile.id,
            provider=profile.provider,
            reachable=False,
            latency_ms=None,
            checked_at=checked_at,
            error=error,
        )


def short(detail: str, api_key: str) -> str:
    # A provider may echo what it was sent; the key must not travel on in our answer.
    if api_key:
        detail = detail.replace(api_key, "[redacted]")
    return detail if len(detail) <= ERROR_LIMIT else detail[: ERROR_LIMIT - 1] + "…"
