"""Rate limits, before routing: requests a minute per user, API key or client address.

The caller is identified cheaply: a JWT by its signature alone (no database; a revoked
token still spends its user's budget, then fails authentication), an API key by one read
of its stream (shared with the handler's `principal`), anyone else by client address.
Every limited answer carries X-RateLimit-Limit, -Remaining and -Reset (seconds until the
window is clear); a refusal is 429 RATE_LIMITED with Retry-After, and the first refusal
of a key in a window is recorded as a RateLimited security event.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils import normalize_path

from api.bootstrap import Container
from api.envelope import send_error
from api.key_principal import is_api_key, key_claims, presented_token
from api.network_policy import CLIENT_ADDRESS
from api.scope import path_of, user_agent_of
from application.accounts import record
from application.api_keys import ApiKeyClaims
from application.authenticate import RevocationCheck
from application.errors import Unauthorized
from application.ports import AccessClaims, TokenService
from domain.rate_limit import RateLimited
from infrastructure.rate_limit import WINDOW_SECONDS, RateDecision
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


# Where a request's revocation question, asked early, waits for the handler.
EARLY_REVOCATION = "llmchat.early_revocation"


class EarlyRevocationCheck:
    """The revocation list's answer for one token, asked while the request is counted.

    Authentication must ask it anyway; asking it beside the rate limit's Redis call
    instead of after it takes a round trip off every authenticated request.
    """

    def __init__(self, ids: list[str], revocations: RevocationCheck) -> None:
        self.ids, self.revocations = ids, revocations
        self.answer = asyncio.ensure_future(revocations.any_revoked(ids))
        # A refused request never asks for it: its failure must not be reported as lost.
        self.answer.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def any_revoked(self, ids: Sequence[str]) -> bool:
        if list(ids) == self.ids:
            return await self.answer
        return await self.revocations.any_revoked(ids)


def limit_for(role: str, settings: Settings) -> int:
    # Administrators are few and trusted: they get the enterprise budget.
    if role in ("enterprise", "admin"):
        return settings.rate_limit_enterprise
    return settings.rate_limit_user


class VerifiedTokens:
    """Access tokens whose signature this process has checked, until they expire.

    A client sends the same token with every request; checking its signature once instead
    of every time takes the largest share of this middleware's own cost away.
    """

    def __init__(self, tokens: TokenService, size: int = 10_000) -> None:
        self.tokens = tokens
        self.size = size
        self.verified: dict[str, AccessClaims] = {}

    def read_access(self, token: str) -> AccessClaims:
        claims = self.verified.get(token)
        if claims is None:
            claims = self.tokens.read_access(token)  # raises Unauthorized
            if len(self.verified) >= self.size:
                self.verified.clear()  # crude, but bounded; a miss only costs a check
            self.verified[token] = claims
        if claims.expires_at <= time.time():
            del self.verified[token]
            raise Unauthorized("Token expired")
        return claims


async def identify(
    scope: Scope, container: Container, verified_tokens: VerifiedTokens, address: str
) -> Caller:
    settings = container.settings
    anonymous = Caller(f"ip:{address}", settings.rate_limit_anonymous, None)
    token = presented_token(scope)
    if token is None:
        return anonymous
    try:
        if is_api_key(token):
            claims: AccessClaims = await key_claims(scope, container, token)
        else:
            claims = verified_tokens.read_access(token)
    except Unauthorized:
        return anonymous
    except Exception as error:  # e.g. the database is down: the handler will say so properly
        log.debug("rate limits: caller not identified (%s); limiting by address", error)
        return anonymous
    return budget_of(claims, settings)


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


async def audit_refusal(scope: Scope, container: Container, caller: Caller, address: str) -> None:
    event = RateLimited(
        key=caller.key,
        user_id=caller.user_id,
        limit=caller.limit,
        window_seconds=WINDOW_SECONDS,
        ip=address,
        # A WebSocket message has no method: its scope's type ("websocket") stands for one.
        method=str(scope.get("method") or scope["type"]).upper(),
        path=path_of(scope),
        user_agent=user_agent_of(scope),
        request_id=str(scope.get("state", {}).get("request_id", "-")),
    )
    try:
        await to_thread.run_sync(record, container.store, event)
    except Exception as error:  # the refusal stands; the audit entry is best effort
        log.warning("rate limits: RateLimited not recorded: %s", error)


async def count(
    scope: Scope, send: Send, container: Container, verified_tokens: VerifiedTokens
) -> list[tuple[bytes, bytes]] | None:
    """Count the request against its caller's budget: the limit headers for its answer, or
    None once a refusal has been sent."""
    state: dict[str, Any] = scope.setdefault("state", {})
    address = address_of(scope)
    caller = await identify(scope, container, verified_tokens, address)
    if caller.access is not None:
        ids = [caller.access.jti, caller.access.family_id]
        state[EARLY_REVOCATION] = EarlyRevocationCheck(ids, container.revocation_check)
    decision = await spend(scope, container, caller)
    headers = limit_headers(decision)
    if decision.allowed:
        return [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    headers["Retry-After"] = str(decision.retry_after)
    await send_error(send, 429, REFUSED, refusal_details(caller, decision), headers)
    return None


REFUSED = "Too many requests"


def address_of(scope: Scope) -> str:
    client = scope.get("client")
    state = scope.get("state", {})
    return str(state.get(CLIENT_ADDRESS) or (client[0] if client else "unknown"))


async def spend(scope: Scope, container: Container, caller: Caller) -> RateDecision:
    """Count one request (or WebSocket message) against the caller's budget; the first
    refusal of a key in a window is recorded, the rest only counted."""
    decision = await container.rate_limiter.hit(caller.key, caller.limit)
    if not decision.allowed and decision.first_refusal:
        await audit_refusal(scope, container, caller, address_of(scope))
    return decision


def refusal_details(caller: Caller, decision: RateDecision) -> str:
    return f"{caller.limit} requests a minute; try again in {decision.retry_after} s"


def rate_limit_middleware(container: Container) -> Callable[[ASGIApp], ASGIApp]:
    verified_tokens = VerifiedTokens(container.accounts.tokens)

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or normalize_path(scope["path"]) in EXEMPT_PATHS:
                await app(scope, receive, send)
                return
            # Only the answer's headers stay with the request (for as long as it streams).
            raw = await count(scope, send, container, verified_tokens)
            if raw is None:
                return

            async def send_with_limits(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *raw]
                await send(message)

            await app(scope, receive, send_with_limits)

        return middleware

    return wrap
