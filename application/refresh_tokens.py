"""RefreshTokens: rotate a refresh token, or revoke its family when an old one comes back.

Concurrent uses of one refresh token (two tabs refreshing at once) all get the pair its
rotation issued, within the grace window: the pair is issued again from the rotation's
event (same jtis, same time, same signature), so any instance can hand it back and no
token is ever stored.
"""

from dataclasses import dataclass

from application.accounts import Accounts, append_or_conflict, load_user, new_id
from application.errors import Unauthorized
from application.ports import PendingEvent
from application.sign_in import TokenPair
from domain.token_family import RefreshReuseDetected, TokenFamily, TokenRefreshed
from domain.user import User

# A race between two uses of one token loses on the family's version; re-reading then
# sees the rotation and hands the loser its pair, so a few attempts always settle it.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class RefreshTokens:
    refresh_token: str
    ip: str
    user_agent: str


def refresh_tokens(accounts: Accounts, command: RefreshTokens) -> TokenPair:
    claims = accounts.tokens.read_refresh(command.refresh_token)
    if accounts.revocations.any_revoked([claims.jti, claims.family_id]):
        raise Unauthorized("Refresh token revoked")
    user = load_user(accounts.store, claims.user_id)
    if user is None:
        raise Unauthorized("Unknown account")
    now = int(accounts.clock.now().timestamp())
    for _ in range(ATTEMPTS):
        history = accounts.store.read(claims.family_id)
        if not history:
            raise Unauthorized("Unknown sign-in")
        family = TokenFamily.replay([r.event for r in history])
        shared = family.concurrent_rotation(claims.jti, now, accounts.refresh_grace)
        if shared is not None:
            return pair_of(accounts, user, shared)
        decision = family.refresh(
            claims.jti, new_id(), new_id(), command.ip, command.user_agent, now, user.role
        )
        if decision is None:
            raise Unauthorized("Refresh token revoked")
        if not append_or_conflict(
            accounts.store, [PendingEvent(family.id, family.version + 1, decision)]
        ):
            continue
        if isinstance(decision, RefreshReuseDetected):
            revoke_family(accounts, family)
            raise Unauthorized("Refresh token reuse detected; this sign-in has been revoked")
        return pair_of(accounts, user, decision)
    raise Unauthorized("Refresh token contended; sign in again")


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
