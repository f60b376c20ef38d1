"""RefreshTokens: rotate a refresh token, or revoke its family when an old one comes back.

Concurrent uses of one refresh token (two tabs refreshing at once) all get the pair its
rotation issued, within the grace window: the pair is issued again from the rotation's
event (same jtis, same time, same signature), so any instance can hand it back and no
token is ever stored.
"""

from dataclasses import dataclass

from application.accounts import Accounts, load_user, new_id
from application.errors import Unauthorized
from application.ports import RefreshClaims
from application.retry import rerun_on_conflict_or
from application.sign_in import TokenPair
from domain.token_family import RefreshReuseDetected, TokenFamily, TokenRefreshed
from domain.user import User


@dataclass(frozen=True, slots=True)
class RefreshTokens:
    refresh_token: str
    ip: str
    user_agent: str


def refresh_tokens(accounts: Accounts, command: RefreshTokens) -> TokenPair:
    claims = accounts.tokens.read_refresh(command.refresh_token)
    revocations = accounts.revocations
    if revocations.any_revoked([claims.jti, claims.family_id], claims.user_id, claims.issued_at):
        raise Unauthorized("Refresh token revoked")
    user = load_user(accounts.store, claims.user_id)
    if user is None:
        raise Unauthorized("Unknown account")
    if user.deactivated:
        raise Unauthorized("Account deactivated")
    return rotate(accounts, command, claims, user, int(accounts.clock.now().timestamp()))


def contended(*_: object) -> Unauthorized:
    return Unauthorized("Refresh token contended; sign in again")


# A race between two uses of one token loses on the family's version; re-running then
# sees the rotation and hands the loser its pair, so a few runs always settle it.
@rerun_on_conflict_or(contended)
def rotate(
    accounts: Accounts, command: RefreshTokens, claims: RefreshClaims, user: User, now: int
) -> TokenPair:
    family = accounts.repository.get(TokenFamily, claims.family_id)
    if family is None:
        raise Unauthorized("Unknown sign-in")
    shared = family.concurrent_rotation(claims.jti, now, accounts.refresh_grace)
    if shared is not None:
        return pair_of(accounts, user, shared)
    decision = family.refresh(
        claims.jti, new_id(), new_id(), command.ip, command.user_agent, now, user.role
    )
    if decision is None:
        raise Unauthorized("Refresh token revoked")
    accounts.repository.save(family)
    if isinstance(decision, RefreshReuseDetected):
        revoke_family(accounts, family)
        raise Unauthorized("Refresh token reuse detected; this sign-in has been revoked")
    return pair_of(accounts, user, decision)


def pair_of(accounts: Accounts, user: User, rotation: TokenRefreshed) -> TokenPair:
    """The pair a rotation issued, the same every time it is asked for."""
    tokens, at = accounts.tokens, rotation.issued_at
    role = rotation.role or user.role
    access = tokens.issue_access(user.id, role, rotation.family_id, rotation.access_jti, at)
    refresh = tokens.issue_refresh(user.id, rotation.family_id, rotation.refresh_jti, at)
    return TokenPair(access.token, refresh.token, tokens.access_ttl, user)


def revoke_family(accounts: Accounts, family: TokenFamily) -> None:
    until = int(accounts.clock.now().timestamp()) + accounts.tokens.refresh_ttl
    accounts.revocations.revoke([family.id, *family.access_jtis], until)
