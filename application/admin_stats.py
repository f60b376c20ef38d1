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
        "system": {
            "uptime": uptime(now.timestamp() - system.started_at),
            "version": system.version,
            "environment": system.environment,
        },
    }
