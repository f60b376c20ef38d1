"""Security events that change no aggregate but must reach the audit trail.

Each occurrence is a stream of its own, so recording one never contends with another.
"""

from dataclasses import dataclass

from domain.events import stored_as


@stored_as("SignInFailed")
@dataclass(frozen=True, slots=True, kw_only=True)
class SignInFailed:
    email: str
    user_id: str | None
    reason: str
    ip: str
    user_agent: str


@stored_as("SignInThrottled")
@dataclass(frozen=True, slots=True, kw_only=True)
class SignInThrottled:
    email: str
    user_id: str | None
    retry_after: int
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRefused:
    """What every refusal records: who, what was asked, why it was refused, from where."""

    user_id: str | None
    status: int
    method: str
    path: str
    reason: str
    ip: str
    user_agent: str
    request_id: str


@stored_as("AccessDenied")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccessDenied(RequestRefused):
    """A request refused with 401 or 403."""


@stored_as("CommandRefused")
@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRefused(RequestRefused):
    """A write the API refused (400, 404, 409): probing and abuse show here, not only 401s."""
