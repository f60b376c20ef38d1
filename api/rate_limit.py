"""Rate limits, before routing: requests a minute per user, API key or client address.

The caller is identified cheaply (api/callers.py): a JWT by its signature alone (no
database; a revoked token still spends its user's budget, then fails authentication), an
API key by one read of its stream (kept for the handler's `principal`), anyone else by
client address.
Every limited answer carries X-RateLimit-Limit, -Remaining and -Reset (seconds until the
window is clear); a refusal is 429 RATE_LIMITED with Retry-After, and the first refusal
of a key in a window is recorded as a RateLimited security event.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils import normalize_path

from api.callers import Callers
from api.envelope import send_error
from api.request_context import RequestContext, context_of, request_id_of
from api.scope import path_of
from application.api_keys import ApiKeyClaims
from application.authenticate import RevocationCheck, revocation_question
from application.errors import Unauthorized
from application.ports import AccessClaims
from application.security_log import SecurityLog
from domain.rate_limit import RateLimited
from infrastructure.rate_limit import WINDOW_SECONDS, RateDecision, RateLimiter
from infrastructure.settings import Settings

log = logging.getLogger(__name__)

# Probes from load balancers and orchestrators must never be refused: a refused health
# check takes an instance out of service. Both are cheap and reveal nothing.
EXEMPT_PATHS = frozenset({"/health", "/health/detailed"})


@dataclass(frozen=True, slots=True)
class Caller:
    key: str  # whose budget: "user:<id>", "apikey:<id>" or "ip:<address>"
    limit: int
    user_id: str | None
    access: AccessClaims | None = None  # a signed access token's claims, not yet checked


@dataclass(frozen=True, slots=True)
class RateLimits:
    """What the rate limiter is given: the budgets, who callers are, the counter, and where
    the first refusal of a window is recorded."""

    settings: Settings
    callers: Callers
    limiter: RateLimiter
    security_log: SecurityLog


# Where a request's revocation question, asked early, waits for the handler.
EARLY_REVOCATION = "llmchat.early_revocation"


class EarlyRevocationCheck:
    """The revocation list's answer for one token, asked while the request is counted.

    Authentication must ask it anyway; asking it beside the rate limit's Redis call
    instead of after it takes a round trip off every authenticated request.
    """

    def __init__(self, question: tuple[list[str], str, int], revocations: RevocationCheck) -> None:
        self.question, self.revocations = question, revocations
        self.answer = asyncio.ensure_future(revocations.any_revoked(*question))
        # A refused request never asks for it: its failure must not be reported as lost.
        self.answer.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        if (list(ids), user_id, issued_at) == self.question:
            return await self.answer
        return await self.revocations.any_revoked(ids, user_id, issued_at)


def limit_for(role: str, settings: Settings) -> int:
    # Administrators are few and trusted: they get the enterprise budget.
    if role in ("enterprise", "admin"):
        return settings.rate_limit_enterprise
    return settings.rate_limit_user


async def identify(context: RequestContext, limits: RateLimits) -> Caller:
    anonymous = Caller(f"ip:{context.address}", limits.settings.rate_limit_anonymous, None)
    if context.token is None:
        return anonymous
    try:
        claims = await limits.callers.identify(context)
    except Unauthorized:
        return anonymous
    except Exception as error:  # e.g. the database is down: the handler will say so properly
        log.debug("rate limits: caller not identified (%s); limiting by address", error)
        return anonymous
    return budget_of(claims, limits.settings)


def budget_of(claims: AccessClaims, settings: Settings) -> Caller:
    """An authenticated caller's budget: an API key's own (it is its own account), else its
    user's, shared by every token and door (HTTP and the WebSocket) of that user."""
    limit = limit_for(claims.role, settings)
    if isinstance(claims, ApiKeyClaims):
        return Caller(f"apikey:{claims.user_id}", limit, claims.user_id)
    return Caller(f"user:{claims.user_id}", limit, claims.user_id, claims)


def limit_headers(decision: RateDecision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_after),
    }


async def audit_refusal(scope: Scope, limits: RateLimits, caller: Caller) -> None:
    context = context_of(scope)
    event = RateLimited(
        key=caller.key,
        user_id=caller.user_id,
        limit=caller.limit,
        window_seconds=WINDOW_SECONDS,
        ip=context.address,
        # A WebSocket message has no method: its scope's type ("websocket") stands for one.
        method=str(scope.get("method") or scope["type"]).upper(),
        path=path_of(scope),
        user_agent=context.user_agent,
        request_id=request_id_of(scope),
    )
    await to_thread.run_sync(limits.security_log.record_refusal, event)


async def count(scope: Scope, send: Send, limits: RateLimits) -> list[tuple[bytes, bytes]] | None:
    """Count the request against its caller's budget: the limit headers for its answer, or
    None once a refusal has been sent."""
    state: dict[str, Any] = scope.setdefault("state", {})
    caller = await identify(context_of(scope), limits)
    if caller.access is not None:
        question = revocation_question(caller.access)
        state[EARLY_REVOCATION] = EarlyRevocationCheck(question, limits.callers.revocations)
    decision = await spend(scope, limits, caller)
    headers = limit_headers(decision)
    if decision.allowed:
        return [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    headers["Retry-After"] = str(decision.retry_after)
    await send_error(send, 429, REFUSED, refusal_details(caller, decision), headers)
    return None


REFUSED = "Too many requests"


async def spend(scope: Scope, limits: RateLimits, caller: Caller) -> RateDecision:
    """Count one request (or WebSocket message) against the caller's budget; the first
    refusal of a key in a window is recorded, the rest only counted."""
    decision = await limits.limiter.hit(caller.key, caller.limit)
    if not decision.allowed and decision.first_refusal:
        await audit_refusal(scope, limits, caller)
    return decision


def refusal_details(caller: Caller, decision: RateDecision) -> str:
    return f"{caller.limit} requests a minute; try again in {decision.retry_after} s"


def rate_limit_middleware(limits: RateLimits) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or normalize_path(scope["path"]) in EXEMPT_PATHS:
                await app(scope, receive, send)
                return
            # Only the answer's headers stay with the request (for as long as it streams).
            raw = await count(scope, send, limits)
            if raw is None:
                return

            async def send_with_limits(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *raw]
                await send(message)

            await app(scope, receive, send_with_limits)

        return middleware

    return wrap
