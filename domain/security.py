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


@stored_as("AccessDenied")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccessDenied:
    user_id: str | None
    status: int
    method: str
    path: str
    reason: str
    ip: str
    user_agent: str
    request_id: str
