"""Authenticate: who presents this access token, if it is still good."""

from collections.abc import Sequence
from typing import Protocol

from application.errors import Unauthorized
from application.ports import AccessClaims, TokenService


class RevocationCheck(Protocol):
    """The revocation list as every request asks it: awaited, since it is on the hot path."""

    async def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        """As `RevocationList.any_revoked`."""
        ...


class UserCheck(Protocol):
    """Whether an account exists, as every request asks it (so: cheaply, mostly cached)."""

    async def exists(self, user_id: str) -> bool: ...


async def authenticate(
    tokens: TokenService, revocations: RevocationCheck, users: UserCheck, token: str
) -> AccessClaims:
    return await still_good(tokens.read_access(token), revocations, users)


def revocation_question(claims: AccessClaims) -> tuple[list[str], str, int]:
    """What the revocation list is asked of an access token: its id and its sign-in's, and
    whether its user's sign-ins were ended after it was issued (a deactivation)."""
    return [claims.jti, claims.family_id], claims.user_id, claims.issued_at


async def still_good(
    claims: AccessClaims, revocations: RevocationCheck, users: UserCheck
) -> AccessClaims:
    """Claims whose signature was checked already (once per request): not revoked, and of
    an account that exists here."""
    if await revocations.any_revoked(*revocation_question(claims)):
        raise Unauthorized("Token revoked")
    # A valid signature proves only that the secret signed it: a token for an account that
    # never existed here (another deployment's, a restored backup's) is refused.
    if not await users.exists(claims.user_id):
        raise Unauthorized("Unknown account")
    return claims
