"""RefreshTokens: rotate a refresh token, or revoke its family when an old one comes back."""

from dataclasses import dataclass

from application.accounts import Accounts, append_or_conflict, load_user
from application.errors import Unauthorized
from application.ports import PendingEvent
from application.sign_in import TokenPair
from domain.token_family import RefreshReuseDetected, TokenFamily

# A race between two uses of one token loses on the family's version; re-reading then
# sees the rotation and reports the loser as reuse, so a few attempts always settle it.
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
    for _ in range(ATTEMPTS):
        history = accounts.store.read(claims.family_id)
        if not history:
            raise Unauthorized("Unknown sign-in")
        family = TokenFamily.replay([r.event for r in history])
        access = accounts.tokens.issue_access(user.id, user.role, family.id)
        refresh = accounts.tokens.issue_refresh(user.id, family.id)
        decision = family.refresh(
            claims.jti, refresh.jti, access.jti, command.ip, command.user_agent
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
        return TokenPair(access.token, refresh.token, accounts.tokens.access_ttl, user)
    raise Unauthorized("Refresh token contended; sign in again")


def revoke_family(accounts: Accounts, family: TokenFamily) -> None:
    until = int(accounts.clock.now().timestamp()) + accounts.tokens.refresh_ttl
    accounts.revocations.revoke([family.id, *family.access_jtis], until)
