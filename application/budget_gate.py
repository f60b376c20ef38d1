"""The budget gate on the chat path: reserve a request's worst case before the provider is
asked, settle to what the reply spent when it ends.

A reservation is taken on every budget that applies to the caller (its own as a user or an
API key, and its role's) in one atomic step, so concurrent chats on any number of instances
cannot together pass a limit by more than what their replies spend beyond what they
reserved. A reservation that is never settled (its instance died) expires, so a budget is
never held forever. Counters that are missing (Redis restarted, a new period began) are
rebuilt from the usage ledger, which is the truth, before anything is reserved on them.
"""

import asyncio
import logging
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from anyio import to_thread

from application.budgets import (
    Amount,
    BudgetCounters,
    BudgetIndex,
    Counted,
    Hold,
    Reservation,
    SpendingLedger,
    UnknownBudgets,
)
from application.chat import Caller
from application.errors import BudgetExceeded, ServiceUnavailable
from application.ports import EventStore
from application.provider import ProviderRequest
from application.repository import Repository
from domain.api_key import CATALOGUE_ID, ApiKey, ApiKeyCatalogued
from domain.budget import Budget, budget_stream_id, nano, period_of
from domain.conversation import ReplyFinished
from domain.prices import PriceList, cost
from domain.timestamps import iso_millis
from domain.usage import estimated_prompt_tokens

log = logging.getLogger("llmchat.budgets")

RESERVATION_SECONDS = 900
"""How long a reservation holds when its reply never settles it (its instance died). A
reply still running after this long no longer holds its worst case, only what it spends."""
UNBOUNDED_COMPLETION = 4096
"""The completion reserved for an agent and a request that set no maxTokens."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def budget_streams_of(caller: Caller) -> list[str]:
    """The streams of the budgets that may apply: the caller's own (as a user or as an API
    key) and its role's."""
    own = "apiKey" if caller.api_key else "user"
    return [budget_stream_id(own, caller.user_id), budget_stream_id("role", caller.role)]


class Budgets:
    def __init__(
        self,
        store: EventStore,
        counters: BudgetCounters,
        ledger: SpendingLedger,
        prices: PriceList | None = None,
        clock: Callable[[], datetime] = utc_now,
        index: BudgetIndex | None = None,
    ) -> None:
        self.store = store
        self.counters = counters
        self.ledger = ledger
        self.prices = prices or PriceList()
        self.clock = clock
        self.index = index or UnknownBudgets()
        self.releasing: set[asyncio.Task[None]] = set()

    def applying(self, caller: Caller) -> list[Budget]:
        """The caller's budgets: its own (as a user or as an API key) and its role's."""
        repository = Repository(self.store)
        found = [repository.get(Budget, stream_id) for stream_id in budget_streams_of(caller)]
        return [budget for budget in found if budget is not None and not budget.removed]

    def noted(self, budget: Budget) -> None:
        """A budget just set here: the next chat of its subject counts on it."""
        self.index.note(budget.id)

    async def reserve(self, caller: Caller, request: ProviderRequest) -> Reservation | None:
        """Hold the request's worst case, or BudgetExceeded; None when no budget applies."""
        if self.index.none_of(budget_streams_of(caller)):
            return None
        budgets = await to_thread.run_sync(self.applying, caller)
        if not budgets:
            return None
        now = self.clock()
        holds = [Hold(budget, period_of(budget.period, now)) for budget in budgets]
        reservation = Reservation(str(uuid.uuid4()), holds, self.worst_case(request, now))
        for _ in range(len(holds) + 1):
            outcome = await self.counters.reserve(reservation, RESERVATION_SECONDS)
            if outcome.taken:
                return reservation
            if outcome.refused_by is not None:
                raise refusal(holds[outcome.refused_by], now)
            assert outcome.unseeded is not None
            await self.rebuild(holds[outcome.unseeded])
        raise ServiceUnavailable("Budgets could not be counted; try again")

    def worst_case(self, request: ProviderRequest, now: datetime) -> Amount:
        """Its prompt as we estimate it and a completion as long as it may be, at today's
        price without any cached input."""
        prompt = estimated_prompt_tokens(turn.content for turn in request.messages)
        completion = request.max_tokens or UNBOUNDED_COMPLETION
        price = self.prices.price_on(request.provider, request.model, now.date())
        spent = cost(price, prompt, completion, 0) if price is not None else Decimal(0)
        return Amount(prompt + completion, nano(spent))

    async def settle(self, reservation: Reservation | None, finished: ReplyFinished) -> None:
        """Count what the reply spent instead of its worst case (once; never raises: the
        reservation expires if this fails)."""
        if reservation is None or reservation.settled:
            return
        reservation.settled = True
        # An abandoned reply's turn was never stored: the ledger will not count it either.
        spent = Amount(0, 0) if finished.outcome == "abandoned" else self.spent_by(finished)
        await self.settled(reservation, spent)

    def release(self, reservation: Reservation) -> None:
        if reservation.settled:
            return
        reservation.settled = True
        task = asyncio.create_task(self.settled(reservation, Amount(0, 0)))
        self.releasing.add(task)
        task.add_done_callback(self.releasing.discard)

    async def settled(self, reservation: Reservation, spent: Amount) -> None:
        try:
            await self.counters.settle(reservation, spent)
        except Exception:
            log.exception("budget reservation %s not settled; it expires", reservation.id)

    def spent_by(self, finished: ReplyFinished) -> Amount:
        today = self.clock().date()
        price = self.prices.price_on(finished.provider or "", finished.model or "", today)
        prompt, completion = finished.prompt_tokens, finished.completion_tokens
        spent = cost(price, prompt, completion, finished.cached_tokens) if price else Decimal(0)
        return Amount(prompt + completion, nano(spent))

    async def rebuild(self, hold: Hold) -> None:
        tokens, spent = await to_thread.run_sync(self.ledger_spent, hold)
        await self.counters.seed(hold, Amount(tokens, nano(spent)))

    def ledger_spent(self, hold: Hold) -> tuple[int, Decimal]:
        budget, period = hold.budget, hold.period
        keys = self.role_keys(budget.subject_id) if budget.scope == "role" else []
        return self.ledger.spent(
            budget.scope, budget.subject_id, period.first_day, period.last_day, keys
        )

    def role_keys(self, role: str) -> list[str]:
        """The API keys of a role (revoked ones too: what they spent was spent)."""
        repository = Repository(self.store)
        listed = [
            r.event.key_id
            for r in self.store.read(CATALOGUE_ID)
            if isinstance(r.event, ApiKeyCatalogued)
        ]
        keys = [repository.get(ApiKey, key_id) for key_id in listed]
        return [key.id for key in keys if key is not None and key.role == role]

    async def counted(self, budget: Budget) -> tuple[Hold, Counted]:
        """A budget's counter in its current period, rebuilt from the ledger if missing."""
        hold = Hold(budget, period_of(budget.period, self.clock()))
        for _ in range(2):
            found = await self.counters.counted(hold)
            if found is not None:
                return hold, found
            await self.rebuild(hold)
        raise ServiceUnavailable("Budgets could not be counted; try again")


def refusal(hold: Hold, now: datetime) -> BudgetExceeded:
    budget, period = hold.budget, hold.period
    retry_after = max(math.ceil((period.resets_at - now).total_seconds()), 1)
    facts: dict[str, object] = {
        "scope": budget.scope,
        "id": budget.subject_id,
        "period": budget.period,
        "tokens": budget.tokens,
        "cost": None if budget.cost is None else float(budget.cost),
        "resetsAt": iso_millis(period.resets_at),
        "retryAfter": retry_after,
    }
    message = f"Budget exceeded: the {budget.scope} budget for this {budget.period} is spent"
    return BudgetExceeded(message, retry_after, facts)
