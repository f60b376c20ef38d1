"""Callers: who a request's token names, asked once and kept in its RequestContext.

The rate limiter asks first, before routing (a JWT by its signature alone, an API key by
the one read its authentication needs anyway); the handler's `principal` then asks again
and gets the same answer, adding what only authentication needs (is the token revoked, is
its account known here). So a JWT's signature is checked at most once per request, and
a client sending the same token with every request has it checked once per process.
"""

import time
from dataclasses import dataclass

from anyio import to_thread

from api.key_principal import is_api_key
from api.request_context import RequestContext
from application.api_keys import ApiKeyClaims, ApiKeys
from application.authenticate import RevocationCheck, UserCheck, still_good
from application.authenticate_api_key import AuthenticateApiKey, authenticate_api_key
from application.errors import Unauthorized
from application.ports import AccessClaims, TokenService


class VerifiedTokens:
    """Access tokens whose signature this process has checked, until they expire.

    A client sends the same token with every request; checking its signature once instead
    of every time takes the largest share of the rate limiter's own cost away.
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


@dataclass(frozen=True, slots=True)
class Callers:
    tokens: VerifiedTokens
    api_keys: ApiKeys
    revocations: RevocationCheck
    known_users: UserCheck

    async def identify(self, context: RequestContext, token: str | None = None) -> AccessClaims:
        """Who `token` (by default the request's own) names; raises Unauthorized. A JWT's
        revocation is not asked here (see `authenticate`)."""
        token = token or context.token
        if token is None:
            raise Unauthorized("Authentication required", "missing bearer token")
        own = token == context.token
        if own and context.caller is not None:
            return context.caller
        if own and context.refused is not None:
            raise context.refused
        try:
            claims = await self.read(context, token)
        except Unauthorized as refused:
            if own:
                context.refused = refused
            raise
        if own:
            context.caller = claims
        return claims

    async def read(self, context: RequestContext, token: str) -> AccessClaims:
        if is_api_key(token):
            command = AuthenticateApiKey(token, context.address, context.user_agent)
            claims: ApiKeyClaims = await to_thread.run_sync(
                authenticate_api_key, self.api_keys, command
            )
            return claims
        return self.tokens.read_access(token)

    async def authenticate(
        self,
        context: RequestContext,
        token: str | None = None,
        revocations: RevocationCheck | None = None,
    ) -> AccessClaims:
        """The caller, authenticated: an API key as identified, an access token also not
        revoked (asked of `revocations`, e.g. the answer the rate limiter asked early) and
        of an account known here."""
        claims = await self.identify(context, token)
        if isinstance(claims, ApiKeyClaims):
            return claims
        return await still_good(claims, revocations or self.revocations, self.known_users)
