"""SignOut: the access token and its whole refresh family stop working everywhere."""

from dataclasses import dataclass

from application.accounts import Accounts, append_or_conflict
from application.ports import AccessClaims, PendingEvent
from application.refresh_tokens import revoke_family
from domain.token_family import TokenFamily


@dataclass(frozen=True, slots=True)
class SignOut:
    claims: AccessClaims
    ip: str
    user_agent: str


def sign_out(accounts: Accounts, command: SignOut) -> None:
    for _ in range(5):
        history = accounts.store.read(command.claims.family_id)
        if not history:
            break
        family = TokenFamily.replay([r.event for r in history])
        signed_out = family.sign_out(command.claims.jti, command.ip, command.user_agent)
        if signed_out is None or append_or_conflict(
            accounts.store, [PendingEvent(family.id, family.version + 1, signed_out)]
        ):
            revoke_family(accounts, family)
            break
    # The presented token is revoked even when its family is unknown or already closed.
    until = command.claims.expires_at
    accounts.revocations.revoke([command.claims.jti, command.claims.family_id], until)
