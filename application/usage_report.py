"""UsageReport: the usage ledger's rows, grouped, for an administrator or for the caller.

A row is `{key, requests, promptTokens, completionTokens, cachedTokens, totalTokens, cost,
estimated}`: `cost` in the price file's currency, `estimated` true when any reply in the
row had its tokens estimated. `from` and `to` are ISO dates (UTC days), both inclusive.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from application.errors import ValidationFailed
from application.paging import check_page

ADMIN_GROUPS = ("user", "apiKey", "agent", "model", "day")
OWN_GROUPS = ("day", "agent", "model")
COLUMNS = (
    "key",
    "requests",
    "promptTokens",
    "completionTokens",
    "cachedTokens",
    "totalTokens",
    "cost",
    "estimated",
)


@dataclass(frozen=True, slots=True)
class UsageQuery:
    group_by: str
    page: int = 1
    limit: int = 20
    first_day: date | None = None
    last_day: date | None = None
    user_id: str | None = None
    """Only this caller's usage (GET /api/usage); None for all of it."""


class UsageLedger(Protocol):
    def page(self, query: UsageQuery) -> tuple[list[dict[str, Any]], int]:
        """The rows of the page, in key order, and how many rows there are in all."""
        ...


def usage_query(
    group_by: str | None,
    first: str | None,
    last: str | None,
    page: int,
    limit: int,
    groups: tuple[str, ...] = ADMIN_GROUPS,
    user_id: str | None = None,
) -> UsageQuery:
    group = group_by or "day"
    if group not in groups:
        raise ValidationFailed(f"groupBy: must be one of {', '.join(groups)}")
    check_page(page, limit)
    first_day = iso_day("from", first)
    last_day = iso_day("to", last)
    if first_day is not None and last_day is not None and last_day < first_day:
        raise ValidationFailed("to: must not be before from")
    return UsageQuery(group, page, limit, first_day, last_day, user_id)


def iso_day(name: str, text: str | None) -> date | None:
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValidationFailed(
        f"{name}: not an ISO date",
        f"{name}: expected a day such as 2025-10-18, got {text[:40]!r}",
    )


def usage_page(ledger: UsageLedger, query: UsageQuery) -> tuple[list[dict[str, Any]], int]:
    return ledger.page(query)


def as_csv_rows(items: list[dict[str, Any]]) -> list[list[str]]:
    """The same rows as CSV: a header of the JSON names, then one line per row."""
    rows = [list(COLUMNS)]
    for item in items:
        rows.append([csv_value(item[column]) for column in COLUMNS])
    return rows


def csv_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
