"""Authenticate: who presents this access token, if it is still good."""

from application.accounts import Accounts
from application.errors import Unauthorized
from application.ports import AccessClaims


def authenticate(accounts: Accounts, token: str) -> AccessClaims:
    claims = accounts.tokens.read_access(token)
    if accounts.revocations.any_revoked([claims.jti, claims.family_id]):
        raise Unauthorized("Token revoked")
    return claims
