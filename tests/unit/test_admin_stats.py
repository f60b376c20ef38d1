"""GET /api/admin/stats's figures, as application/admin_stats.py defines them."""

from datetime import UTC, datetime, timedelta

from application.admin_stats import (
    AgentSummary,
    SystemInfo,
    UsageFigures,
    admin_stats,
    uptime,
)


class FrozenClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class RecordingUsage:
    def __init__(self) -> None:
        self.asked: tuple[datetime, datetime] | None = None

    def usage(self, today: datetime, active_since: datetime) -> UsageFigures:
        self.asked = (today, active_since)
        return UsageFigures(5, 3, 1, 4, 2, 2.25, 7, 70, 30, 20, 0.5, 2, 25, 0.125)


def test_uptime_reads_in_hours_and_minutes():
    assert uptime(72 * 3600 + 30 * 60 + 59) == "72h 30m"
    assert uptime(59) == "0h 0m"
    assert uptime(-5) == "0h 0m"


def test_the_figures_use_the_utc_day_and_the_last_thirty_days():
    now = datetime(2025, 10, 18, 10, 30, tzinfo=UTC)
    usage = RecordingUsage()
    agents = [
        AgentSummary("active", "writing"),
        AgentSummary("inactive", "code"),
        AgentSummary("active", "writing"),
    ]
    system = SystemInfo(now.timestamp() - 3600 * 5 - 60 * 7, "1.2.3", "production")

    stats = admin_stats(usage, agents, system, FrozenClock(now))

    assert usage.asked == (datetime(2025, 10, 18, tzinfo=UTC), now - timedelta(days=30))
    assert stats == {
        "users": {"total": 5, "active": 3, "newToday": 1},
        "agents": {"total": 3, "active": 2, "categories": ["code", "writing"]},
        "chats": {"total": 4, "today": 2, "averageLength": 2.2},
        "usage": {
            "requests": 7,
            "promptTokens": 70,
            "completionTokens": 30,
            "cachedTokens": 20,
            "totalTokens": 100,
            "cost": 0.5,
            "today": {"requests": 2, "totalTokens": 25, "cost": 0.125},
        },
        "system": {"uptime": "5h 7m", "version": "1.2.3", "environment": "production"},
    }
