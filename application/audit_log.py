"""AuditLog: a page of the audit trail for an administrator, newest first, filtered.

startDate and endDate take an ISO-8601 date or date-time (without a zone: UTC); both are
inclusive, and a date as endDate means the whole of that day.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.errors import ValidationFailed
from application.moments import parse_moment
from application.paging import check_page
from domain.ids import is_uuid


@dataclass(frozen=True, slots=True)
class AuditQuery:
    page: int = 1
    limit: int = 20
    user_id: str | None = None
    action: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


class AuditEntries(Protocol):
    def page(self, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        """Entries as the API shows them, newest first, and how many match in all."""
        ...


def audit_query(
    page: int,
    limit: int,
    user_id: str | None,
    action: str | None,
    start_date: str | None,
    end_date: str | None,
) -> AuditQuery:
    check_page(page, limit)
    if user_id and not is_uuid(user_id):
        raise ValidationFailed("userId: must be a user id (a UUID)")
    start = parse_moment("startDate", start_date) if start_date else None
    end = parse_moment("endDate", end_date, as_end=True) if end_date else None
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("endDate: must not be before startDate")
    return AuditQuery(page, limit, user_id or None, action or None, start, end)


def audit_page(entries: AuditEntries, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
    return entries.page(query)
