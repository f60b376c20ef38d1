"""SetBudget, RemoveBudget and BudgetStatus: what administrators do with budgets through
/api/admin/budgets/{scope}/{id}.

A budget names a subject that exists: a registered user, a created API key (revoked or
not: its budget may still be read and removed) or one of the roles.
"""

from dataclasses import dataclass
from decimal import Decimal

from application.accounts import load_user
from application.api_keys import load_key
from application.errors import NotFound, ValidationFailed
from application.ports import EventStore
from application.repository import Repository
from application.retry import rerun_on_conflict
from domain.budget import SCOPES, Budget, budget_stream_id, checked_subject
from domain.ids import is_uuid


@dataclass(frozen=True, slots=True)
class SetBudget:
    scope: str
    subject_id: str
    period: str
    tokens: int | None
    cost: Decimal | None
    set_by: str


def subject_checked(store: EventStore, scope: str, subject_id: str) -> None:
    """ValidationFailed for a scope or role there is not; NotFound for a user or key."""
    try:
        checked_subject(scope, subject_id)
    except ValueError as error:
        raise ValidationFailed("Invalid budget", str(error)) from None
    if scope != "role" and not is_uuid(subject_id):
        raise ValidationFailed(
            "Invalid budget",
            f"id: must be {'a user' if scope == 'user' else 'an API key'}'s id (a UUID)",
        )
    if scope == "user" and load_user(store, subject_id) is None:
        raise NotFound("User not found", f"no user {subject_id}")
    if scope == "apiKey" and load_key(store, subject_id) is None:
        raise NotFound("API key not found", f"no key {subject_id}")


def scope_checked(scope: str) -> None:
    if scope not in SCOPES:
        raise ValidationFailed("Invalid budget", f"scope: must be one of {', '.join(SCOPES)}")


@rerun_on_conflict
def set_budget(store: EventStore, command: SetBudget) -> Budget:
    subject_checked(store, command.scope, command.subject_id)
    repository = Repository(store)
    budget = repository.get(Budget, budget_stream_id(command.scope, command.subject_id))
    limits = (command.period, command.tokens, command.cost)
    try:
        if budget is None:
            budget = Budget.create(command.scope, command.subject_id, *limits, command.set_by)
        elif not budget.change(*limits, command.set_by):
            return budget
    except ValueError as error:
        raise ValidationFailed("Invalid budget", str(error)) from None
    repository.save(budget)
    return stored_budget(store, command.scope, command.subject_id)


def stored_budget(store: EventStore, scope: str, subject_id: str) -> Budget:
    """The budget as stored (with its stored time), or NotFound."""
    scope_checked(scope)
    budget = Repository(store).get(Budget, budget_stream_id(scope, subject_id))
    if budget is None or budget.removed:
        raise NotFound("Budget not found", f"no {scope} budget for {subject_id!r}")
    return budget


@rerun_on_conflict
def remove_budget(store: EventStore, scope: str, subject_id: str, by: str) -> None:
    budget = stored_budget(store, scope, subject_id)
    budget.remove(by)
    Repository(store).save(budget)
