"""Refused requests (401, 403) reach the audit trail as AccessDenied security events.

Aggregated, so a client hammering a closed door cannot flood the log: each process records
at most one event per (client address, path, status) a minute; the rest are only counted
by the HTTP metrics. Recording happens off the event loop and never changes the answer.
"""

import asyncio
import logging
import time
from typing import Any

from litestar import Request

from application.accounts import record
from application.ports import EventStore
from domain.security import AccessDenied
from infrastructure import request_metadata

log = logging.getLogger("llmchat.audit")

WINDOW_SECONDS = 60.0
# Bounds this process's memory under a flood of distinct addresses or paths.
MAX_REMEMBERED = 10_000


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


def record_quietly(store: EventStore, event: AccessDenied) -> None:
    try:
        record(store, event)
    except Exception as error:  # the refusal stands; its audit entry is best effort
        log.warning("AccessDenied not recorded: %s: %s", type(error).__name__, error)


def note_refusal(request: Request[Any, Any, Any], status: int, reason: str) -> None:
    """Called by the error envelope for every 401 and 403 it answers."""
    container = request.app.state.get("container")
    if container is None:
        return
    meta = request_metadata.current() or {}
    client = request.client.host if request.client else "unknown"
    ip = meta.get("ip") or client
    path = request.url.path[:512]
    if path in SELF_AUDITED_PATHS or not RECENT.first((ip, path, status)):
        return
    event = AccessDenied(
        user_id=meta.get("userId"),
        status=status,
        method=request.method,
        path=path,
        reason=reason[:200],
        ip=ip,
        user_agent=meta.get("userAgent") or request.headers.get("user-agent", "")[:256],
        request_id=meta.get("requestId")
        or str(request.scope.get("state", {}).get("request_id", "-")),
    )
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        record_quietly(container.store, event)
        return
    loop.run_in_executor(None, record_quietly, container.store, event)
