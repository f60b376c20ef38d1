"""Authenticate: who presents this access token, if it is still good."""

from collections.abc import Sequence
from typing import Protocol

from application.errors import Unauthorized
from application.ports import AccessClaims, TokenService


class RevocationCheck(Protocol):
    """The revocation list as every request asks it: awaited, since it is on the hot path."""

    async def any_revoked(self, ids: Sequence[str]) -> bool: ...


class UserCheck(Protocol):
    """Whether an account exists, as every request asks it (so: cheaply, mostly cached)."""

    async def exists(self, user_id: str) -> bool: ...


async def authenticate(
    tokens: TokenService, revocations: RevocationCheck, users: UserCheck, token: str
) -> AccessClaims:
    return await still_good(tokens.read_access(token), revocations, users)


async def still_good(
    claims: AccessClaims, revocations: RevocationCheck, users: UserCheck
) -> AccessClaims:
    """Claims whose signature was checked already (once per request): not revoked, and of
    an account that exists here."""
    if await revocations.any_revoked([claims.jti, claims.family_id]):
        raise Unauthorized("Token revoked")
    # A valid signature proves only that the secret signed it: a token for an account that
    # never existed here (another deployment's, a restored backup's) is refused.
    if not await users.exists(claims.user_id):
        raise Unauthorized("Unknown account")
    return claims
