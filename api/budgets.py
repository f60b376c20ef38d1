"""/api/admin/budgets/{scope}/{id}: administrators set, read and remove the token and cost
budgets of a user, an API key or a role.

A budget's answer shows its limits with what its current period has used, what open
replies hold reserved, what is left, and when the period resets (UTC). Usage comes from the
budget counters, which every chat updates at once, not from the ledger's read model.
The scope's path parameter is `budget_scope` to Litestar, which keeps `scope` for itself.
"""

from decimal import Decimal
from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, delete, get, put
from litestar.params import FromPath, JSONBody

from api.dependencies import BudgetsDep, CallerDep, StoreDep
from api.envelope import success
from application.budget_changes import SetBudget, remove_budget, set_budget, stored_budget
from application.budget_gate import Budgets
from application.budgets import Amount
from application.errors import ValidationFailed
from domain.budget import COST_UNIT, MAX_COST, Budget
from domain.timestamps import iso_millis


class BudgetBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    period: str
    tokens: int | None = None
    cost: float | None = None


def exact_cost(cost: float | None) -> Decimal | None:
    """The cost as it was written (0.1 stays 0.1), to the budget's smallest unit."""
    if cost is None:
        return None
    written = Decimal(repr(cost))
    if not 0 <= written <= MAX_COST:
        return written  # the budget refuses it, naming its range
    if written != written.quantize(COST_UNIT):
        raise ValidationFailed("Invalid budget", "cost: at most 9 decimal places")
    return written


def amount_view(amount: Amount) -> dict[str, Any]:
    return {"tokens": amount.tokens, "cost": float(amount.cost * COST_UNIT)}


def left_view(budget: Budget, used: Amount, reserved: Amount) -> dict[str, Any]:
    tokens = None
    if budget.tokens is not None:
        tokens = max(budget.tokens - used.tokens - reserved.tokens, 0)
    cost = None
    if budget.cost is not None:
        cost = float(max(budget.cost - (used.cost + reserved.cost) * COST_UNIT, Decimal(0)))
    return {"tokens": tokens, "cost": cost}


async def budget_view(budgets: Budgets, budget: Budget) -> dict[str, Any]:
    hold, counted = await budgets.counted(budget)
    return {
        "scope": budget.scope,
        "id": budget.subject_id,
        "period": budget.period,
        "tokens": budget.tokens,
        "cost": None if budget.cost is None else float(budget.cost),
        "setBy": budget.set_by,
        "setAt": budget.set_at,
        "used": amount_view(counted.spent),
        "reserved": amount_view(counted.reserved),
        "left": left_view(budget, counted.spent, counted.reserved),
        "periodStart": hold.period.first_day.isoformat(),
        "resetsAt": iso_millis(hold.period.resets_at),
    }


class BudgetsController(Controller):
    path = "/api/admin/budgets"

    @put("/{budget_scope:str}/{id:str}", status_code=200)
    async def set(
        self,
        budget_scope: FromPath[str],
        id: FromPath[str],
        data: JSONBody[BudgetBody],
        store: StoreDep,
        budgets: BudgetsDep,
        admin: CallerDep,
    ) -> dict[str, Any]:
        """Set (or change) the budget of a user, an API key or a role."""
        command = SetBudget(
            budget_scope, id, data.period, data.tokens, exact_cost(data.cost), admin.user_id
        )
        budget = await to_thread.run_sync(set_budget, store, command)
        budgets.noted(budget)
        return success(await budget_view(budgets, budget), "Budget set")

    @get("/{budget_scope:str}/{id:str}")
    async def show(
        self,
        budget_scope: FromPath[str],
        id: FromPath[str],
        store: StoreDep,
        budgets: BudgetsDep,
        admin: CallerDep,
    ) -> dict[str, Any]:
        """The budget with what its period has used and has left, and when it resets."""
        budget = await to_thread.run_sync(stored_budget, store, budget_scope, id)
        return success(await budget_view(budgets, budget))

    @delete("/{budget_scope:str}/{id:str}", status_code=200)
    async def remove(
        self, budget_scope: FromPath[str], id: FromPath[str], store: StoreDep, admin: CallerDep
    ) -> dict[str, Any]:
        """Remove the budget: the subject's chats are no longer counted against it."""
        await to_thread.run_sync(remove_budget, store, budget_scope, id, admin.user_id)
        return success(None, "Budget removed")
