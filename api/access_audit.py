"""Refused requests reach the audit trail as security events: AccessDenied for 401 and 403
(the allow-lists' refusals included), CommandRefused for a write refused with 400, 404 or 409.

Aggregated, so a client hammering a closed door cannot flood the log: each process records
at most one event per (client address, path, status) a minute; the rest are only counted
by the HTTP metrics. Recording happens off the event loop and never changes the answer.
"""

import asyncio
import time

from litestar.types import Scope

from api.request_context import context_of, request_id_of
from api.scope import path_of
from application.security_log import SecurityLog
from domain.security import AccessDenied, CommandRefused
from domain.text import storable
from infrastructure import request_metadata

WINDOW_SECONDS = 60.0
# Bounds this process's memory under a flood of distinct addresses or paths.
MAX_REMEMBERED = 10_000

DENIED = frozenset({401, 403})
REFUSED_COMMANDS = frozenset({400, 404, 409})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RecentRefusals:
    """Keys seen within the window; a key is new again once its window has passed."""

    def __init__(self, window: float = WINDOW_SECONDS, size: int = MAX_REMEMBERED) -> None:
        self.window = window
        self.size = size
        self.until: dict[tuple[str, str, int], float] = {}

    def first(self, key: tuple[str, str, int], now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.until.get(key, 0.0) > now:
            return False
        if len(self.until) >= self.size:
            self.until = {k: t for k, t in self.until.items() if t > now}
            if len(self.until) >= self.size:
                return False  # still full of live keys: this is a flood; count, don't record
        self.until[key] = now + self.window
        return True


RECENT = RecentRefusals()

# Refusals whose use case records a security event of its own (SignInFailed): an
# AccessDenied beside it would say the same thing twice.
SELF_AUDITED_PATHS = frozenset({"/api/auth/login"})


def refusal_of(scope: Scope, status: int, reason: str) -> AccessDenied | CommandRefused | None:
    """The security event a refusal makes, or None for one that is not audited (or not now)."""
    method = str(scope.get("method", "GET"))
    if status in DENIED:
        kind: type[AccessDenied] | type[CommandRefused] = AccessDenied
    elif status in REFUSED_COMMANDS and method in WRITES:
        kind = CommandRefused
    else:
        return None
    meta = request_metadata.current() or {}
    context = context_of(scope)
    ip = meta.get("ip") or context.address
    path = path_of(scope)
    if path in SELF_AUDITED_PATHS and status in DENIED:
        return None
    if not RECENT.first((str(ip), path, status)):
        return None
    return kind(
        user_id=meta.get("userId") or None,
        status=status,
        method=method,
        path=path,
        reason=storable(reason, 200),
        ip=str(ip),
        user_agent=meta.get("userAgent") or context.user_agent,
        request_id=meta.get("requestId") or request_id_of(scope),
    )


def note_refusal(scope: Scope, security_log: SecurityLog | None, status: int, reason: str) -> None:
    """Called for every refusal the API answers (the envelope, the allow-lists)."""
    if security_log is None:
        return
    event = refusal_of(scope, status, reason)
    if event is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        security_log.record_refusal(event)
        return
    loop.run_in_executor(None, security_log.record_refusal, event)
