"""SignOut: the access token and its whole refresh family stop working everywhere."""

from contextlib import suppress
from dataclasses import dataclass

from application.accounts import Accounts
from application.errors import Conflict
from application.ports import AccessClaims
from application.refresh_tokens import revoke_family
from application.retry import rerun_on_conflict
from domain.token_family import TokenFamily


@dataclass(frozen=True, slots=True)
class SignOut:
    claims: AccessClaims
    ip: str
    user_agent: str


def sign_out(accounts: Accounts, command: SignOut) -> None:
    # A family that keeps changing under us is still cut off below, by its id.
    with suppress(Conflict):
        close_family(accounts, command)
    # The presented token is revoked even when its family is unknown or already closed.
    until = command.claims.expires_at
    accounts.revocations.revoke([command.claims.jti, command.claims.family_id], until)


@rerun_on_conflict
def close_family(accounts: Accounts, command: SignOut) -> None:
    family = accounts.repository.get(TokenFamily, command.claims.family_id)
    if family is None:
        return
    family.sign_out(command.claims.jti, command.ip, command.user_agent)
    accounts.repository.save(family)
    revoke_family(accounts, family)
