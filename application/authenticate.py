"""Authenticate: who presents this access token, if it is still good."""

from collections.abc import Sequence
from typing import Protocol

from application.errors import Unauthorized
from application.ports import AccessClaims, TokenService


class RevocationCheck(Protocol):
    """The revocation list as every request asks it: awaited, since it is on the hot path."""

    async def any_revoked(self, ids: Sequence[str]) -> bool: ...


async def authenticate(
    tokens: TokenService, revocations: RevocationCheck, token: str
) -> AccessClaims:
    claims = tokens.read_access(token)
    if await revocations.any_revoked([claims.jti, claims.family_id]):
        raise Unauthorized("Token revoked")
    return claims
