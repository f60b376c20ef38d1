"""UserList: a page of accounts for an administrator, newest first, filtered by role, status
and part of the address (as it is stored: normalised, so case does not matter)."""

from dataclasses import dataclass
from typing import Any, Protocol

from application.errors import ValidationFailed
from application.paging import check_page
from domain.user import ROLES, STATUSES, normalise_email


@dataclass(frozen=True, slots=True)
class UserQuery:
    page: int = 1
    limit: int = 20
    role: str | None = None
    status: str | None = None
    email: str | None = None  # contained in the address


class UserListing(Protocol):
    def page(self, query: UserQuery) -> tuple[list[dict[str, Any]], int]:
        """Users as the API shows them, newest first, and how many match in all."""
        ...


def user_query(
    page: int, limit: int, role: str | None, status: str | None, email: str | None
) -> UserQuery:
    check_page(page, limit)
    if role is not None and role not in ROLES:
        raise ValidationFailed(f"role: must be one of {', '.join(ROLES)}")
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status: must be one of {', '.join(STATUSES)}")
    if email is not None and "\x00" in email:
        raise ValidationFailed("email: must not contain NUL")
    part = normalise_email(email) if email else None
    return UserQuery(page, limit, role, status, part or None)
