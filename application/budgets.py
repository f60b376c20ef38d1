"""Budgets as the chat path counts them: the ports for their counters and for the ledger,
and the values that pass between them.

A chat reserves its worst case against every budget that applies to its caller before the
provider is asked, and settles to what it spent when the reply ends. The counters hold, per
budget and period, what was spent and what is reserved; the usage ledger is the truth they
are rebuilt from when they are missing (a Redis restart, a new period, a new process).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from application.provider import ProviderRequest
from domain.budget import Budget, Period
from domain.conversation import ReplyFinished

if TYPE_CHECKING:
    from application.chat import Caller


@dataclass(frozen=True, slots=True)
class Amount:
    tokens: int
    cost: int
    """In the budget's cost units (domain.budget.COST_UNIT)."""


@dataclass(frozen=True, slots=True)
class Hold:
    """One budget a request is counted against, in the period it falls in."""

    budget: Budget
    period: Period

    @property
    def key(self) -> str:
        """The counter's name: one per budget and period."""
        return f"{self.budget.scope}:{self.budget.subject_id}:{self.period.key}"


@dataclass(frozen=True, slots=True)
class Counted:
    """A budget's counter now: settled spending and open reservations."""

    spent: Amount
    reserved: Amount


@dataclass(frozen=True, slots=True)
class Outcome:
    """A reservation's answer: taken, refused by one hold, or a hold whose counter is
    missing (it must be rebuilt from the ledger first)."""

    taken: bool
    refused_by: int | None = None
    unseeded: int | None = None


@dataclass(slots=True)
class Reservation:
    id: str
    holds: list[Hold]
    ask: Amount
    settled: bool = field(default=False)


class BudgetCounters(Protocol):
    async def reserve(self, reservation: Reservation, expires_in: int) -> Outcome:
        """Atomically: for every hold, spent + reserved + ask within its limits, then the
        ask reserved on all of them for `expires_in` seconds; or nothing changes."""
        ...

    async def seed(self, hold: Hold, spent: Amount) -> None:
        """Start a missing counter at what the ledger says was spent (an existing one is
        left as it is: another instance got there first)."""
        ...

    async def settle(self, reservation: Reservation, spent: Amount) -> None:
        """Release the reservation (if it has not expired) and count what was spent."""
        ...

    async def counted(self, hold: Hold) -> Counted | None:
        """The counter, or None when it is missing."""
        ...

    async def aclose(self) -> None: ...


class SpendingLedger(Protocol):
    def spent(
        self,
        scope: str,
        subject_id: str,
        first_day: date,
        last_day: date,
        role_keys: Sequence[str] = (),
    ) -> tuple[int, Decimal]:
        """Tokens and cost the usage ledger holds for a user, an API key or a role's
        members (its users now, and `role_keys`, the API keys of that role) from
        `first_day` to `last_day`, both included."""
        ...


class BudgetIndex(Protocol):
    """Which budget streams exist, known without a round trip (infrastructure/notices.py):
    a chat by a caller with no budget, the common case, asks nothing else of budgets."""

    def none_of(self, stream_ids: Sequence[str]) -> bool:
        """True only when it is sure no stream of `stream_ids` exists; False when one does
        or it cannot tell (its view is not current): then the streams are read."""
        ...

    def note(self, stream_id: str) -> None:
        """A budget this process has just set, known at once (before its answer)."""
        ...


class UnknownBudgets:
    """An index that cannot tell: every chat reads its budget streams."""

    def none_of(self, stream_ids: Sequence[str]) -> bool:
        return False

    def note(self, stream_id: str) -> None:
        return None


class BudgetGate(Protocol):
    """What the chat path asks of budgets (application/budget_gate.py)."""

    async def reserve(self, caller: "Caller", request: ProviderRequest) -> Reservation | None: ...

    async def settle(self, reservation: Reservation | None, finished: ReplyFinished) -> None: ...

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose reply never ran (in the background)."""
        ...


class NoBudgets:
    """No budgets at all: for a Chat built without them (unit tests of other use cases)."""

    async def reserve(self, caller: "Caller", request: ProviderRequest) -> Reservation | None:
        return None

    async def settle(self, reservation: Reservation | None, finished: ReplyFinished) -> None:
        return None

    def release(self, reservation: Reservation) -> None:
        return None
