"""AdminStats: the figures of GET /api/admin/stats, each defined once, here.

- users.total: accounts ever registered (administrators included).
- users.active: accounts that signed in, posted a message or saved a session in the last
  ACTIVE_DAYS days.
- users.newToday: accounts registered since 00:00 UTC today.
- agents.total / active: agents the agents file defines now / of those, the ones whose
  status is active. agents.categories: their distinct categories, sorted.
- chats.total: conversations that exist (started and not deleted). chats.today: of those,
  the ones started since 00:00 UTC today. chats.averageLength: messages per conversation
  (user, assistant and imported), over conversations that exist, to one decimal.
- usage: the usage ledger's totals (projections/usage.py): replies, their prompt,
  completion and cached tokens, and cost in the price file's currency; usage.today the
  same since 00:00 UTC today.
- system.uptime: since this API process started, as "72h 30m".
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.ports import Clock

ACTIVE_DAYS = 30


@dataclass(frozen=True, slots=True)
class UsageFigures:
    users_total: int
    users_active: int
    users_new_today: int
    chats_total: int
    chats_today: int
    average_length: float
    usage_requests: int = 0
    usage_prompt_tokens: int = 0
    usage_completion_tokens: int = 0
    usage_cached_tokens: int = 0
    usage_cost: float = 0.0
    today_requests: int = 0
    today_tokens: int = 0
    today_cost: float = 0.0


class UsageStats(Protocol):
    def usage(self, today: datetime, active_since: datetime) -> UsageFigures:
        """Figures as of the read model; `today` is 00:00 UTC of the current day."""
        ...


@dataclass(frozen=True, slots=True)
class AgentSummary:
    status: str
    category: str


@dataclass(frozen=True, slots=True)
class SystemInfo:
    started_at: float  # seconds since the epoch
    version: str
    environment: str


def uptime(seconds: float) -> str:
    whole = max(int(seconds), 0)
    return f"{whole // 3600}h {whole % 3600 // 60}m"


def admin_stats(
    usage: UsageStats, agents: Sequence[AgentSummary], system: SystemInfo, clock: Clock
) -> dict[str, object]:
    now = clock.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    figures = usage.usage(today, now - timedelta(days=ACTIVE_DAYS))
    return {
        "users": {
            "total": figures.users_total,
            "active": figures.users_active,
            "newToday": figures.users_new_today,
        },
        "agents": {
            "total": len(agents),
            "active": sum(1 for agent in agents if agent.status == "active"),
            "categories": sorted({agent.category for agent in agents}),
        },
        "chats": {
            "total": figures.chats_total,
            "today": figures.chats_today,
            "averageLength": round(figures.average_length, 1),
        },
        "usage": {
            "requests": figures.usage_requests,
            "promptTokens": figures.usage_prompt_tokens,
            "completionTokens": figures.usage_completion_tokens,
            "cachedTokens": figures.usage_cached_tokens,
            "totalTokens": figures.usage_prompt_tokens + figures.usage_completion_tokens,
            "cost": figures.usage_cost,
            "today": {
                "requests": figures.today_requests,
                "totalTokens": figures.today_tokens,
                "cost": figures.today_cost,
            },
        },
        "system": {
            "uptime": uptime(now.timestamp() - system.started_at),
            "version": system.version,
            "environment": system.environment,
        },
    }
