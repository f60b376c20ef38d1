"""A budget: how many tokens, or how much money, one user, API key or role may spend in a
day or a month (UTC), and the periods it is counted in.

Each budget has a stream of its own, named by its scope and subject (`uuid5`), so setting
the budget of a subject twice from two instances is one stream's optimistic concurrency.
A removed budget's stream stays: setting it again continues it.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from domain.aggregate import Aggregate
from domain.events import stored_as
from domain.user import ROLES

SCOPES = ("user", "apiKey", "role")
PERIODS = ("day", "month")
MAX_TOKENS = 10**15
"""Far above any real budget; keeps every sum exact in Redis's Lua numbers (2**53)."""
MAX_COST = Decimal(10**6)
"""A million units of the price file's currency; with costs counted in nano-units (below),
sums stay exact in Lua numbers."""
COST_UNIT = Decimal("0.000000001")
"""Costs are counted in billionths of the currency: a token of the cheapest model still
costs a whole number of them, and the counters stay integers."""

NAMESPACE = uuid.UUID("6f1d8a52-6a0e-4cb1-9d3e-0b7f7d1f2a10")


def budget_stream_id(scope: str, subject_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"budget/{scope}/{subject_id}"))


def nano(cost: Decimal) -> int:
    """A cost as a whole number of COST_UNITs, rounded up: a budget is never undercounted."""
    return int((cost / COST_UNIT).to_integral_value(rounding="ROUND_CEILING"))


@stored_as("BudgetSet")
@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSet:
    scope: str
    subject_id: str
    period: str
    tokens: int | None
    cost: str | None
    """A decimal in the price file's currency, as text so it is kept exactly."""
    set_by: str


@stored_as("BudgetRemoved")
@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetRemoved:
    scope: str
    subject_id: str
    removed_by: str


def checked_limits(period: str, tokens: int | None, cost: Decimal | None) -> None:
    """ValueError naming the field for a limit a budget cannot have."""
    if period not in PERIODS:
        raise ValueError(f"period: must be one of {', '.join(PERIODS)}")
    if tokens is None and cost is None:
        raise ValueError("tokens, cost: a budget limits tokens, cost or both")
    if tokens is not None and not 0 <= tokens <= MAX_TOKENS:
        raise ValueError(f"tokens: must be between 0 and {MAX_TOKENS}")
    if cost is not None and not (cost.is_finite() and 0 <= cost <= MAX_COST):
        raise ValueError(f"cost: must be between 0 and {MAX_COST}")


def checked_subject(scope: str, subject_id: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"scope: must be one of {', '.join(SCOPES)}")
    if scope == "role" and subject_id not in ROLES:
        raise ValueError(f"id: a role is one of {', '.join(ROLES)}")


@dataclass(slots=True, kw_only=True)
class Budget(Aggregate):
    starts_with: ClassVar[type[Any]] = BudgetSet

    scope: str
    subject_id: str
    period: str = "day"
    tokens: int | None = None
    cost: Decimal | None = None
    set_by: str = ""
    set_at: str = ""
    removed: bool = False

    @classmethod
    def started(cls, first: BudgetSet, timestamp: str) -> "Budget":
        return cls(
            id=budget_stream_id(first.scope, first.subject_id),
            scope=first.scope,
            subject_id=first.subject_id,
        )

    def apply(self, event: object, timestamp: str) -> None:
        if isinstance(event, BudgetSet):
            self.period, self.tokens = event.period, event.tokens
            self.cost = None if event.cost is None else Decimal(event.cost)
            self.set_by, self.set_at, self.removed = event.set_by, timestamp, False
        elif isinstance(event, BudgetRemoved):
            self.removed = True

    @classmethod
    def create(
        cls,
        scope: str,
        subject_id: str,
        period: str,
        tokens: int | None,
        cost: Decimal | None,
        by: str,
    ) -> "Budget":
        checked_subject(scope, subject_id)
        checked_limits(period, tokens, cost)
        return cls.begin(set_event(scope, subject_id, period, tokens, cost, by))

    def change(self, period: str, tokens: int | None, cost: Decimal | None, by: str) -> bool:
        """Set new limits; False when they are the budget's already (nothing to record)."""
        checked_limits(period, tokens, cost)
        if not self.removed and (period, tokens, cost) == (self.period, self.tokens, self.cost):
            return False
        self.trigger(set_event(self.scope, self.subject_id, period, tokens, cost, by))
        return True

    def remove(self, by: str) -> bool:
        if self.removed:
            return False
        self.trigger(BudgetRemoved(scope=self.scope, subject_id=self.subject_id, removed_by=by))
        return True


def set_event(
    scope: str, subject_id: str, period: str, tokens: int | None, cost: Decimal | None, by: str
) -> BudgetSet:
    text = None if cost is None else format(cost.normalize(), "f")
    return BudgetSet(
        scope=scope, subject_id=subject_id, period=period, tokens=tokens, cost=text, set_by=by
    )


@dataclass(frozen=True, slots=True)
class Period:
    """One counting period of a budget: its name in counter keys, its first and last day,
    and when the next begins."""

    key: str
    first_day: date
    last_day: date
    resets_at: datetime


def period_of(kind: str, now: datetime) -> Period:
    today = now.astimezone(UTC).date()
    if kind == "day":
        following = today + timedelta(days=1)
        return Period(today.isoformat(), today, today, midnight(following))
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first.isoformat()[:7], first, following - timedelta(days=1), midnight(following))


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
