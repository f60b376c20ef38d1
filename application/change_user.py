"""ChangeUser: an administrator changes a user's role or status (PATCH /api/admin/users/{id}).

Deactivation ends every sign-in of the user and every API key they created, at once and on
every instance: the keys are revoked in the same append as the deactivation (a key is read
from the store on every use), and the revocation list refuses every token of the user
issued before the deactivation (their refresh tokens also meet the deactivated account).
A reactivated user signs in again; what the deactivation ended stays ended.

A role change holds at once where it matters most: the admin gate asks the stored role
(api/principal.py), so a demoted administrator loses the admin routes with the next
request, and a demotion from admin ends the user's sign-ins as a deactivation does (their
tokens carry the admin role: reading others' conversations and files). Other role changes
reach a token's role (rate-limit tier, role budgets) at its next refresh.
"""

from dataclasses import dataclass

from application.accounts import Accounts, load_user
from application.api_keys import catalogued, load_key
from application.errors import NotFound, ValidationFailed
from application.retry import rerun_on_conflict
from domain.api_key import ApiKey
from domain.ids import is_uuid
from domain.timestamps import parse_stored
from domain.user import User


@dataclass(frozen=True, slots=True)
class ChangeUser:
    user_id: str
    role: str | None
    status: str | None
    by: str


def keys_created_by(accounts: Accounts, user_id: str) -> list[ApiKey]:
    """The live keys the user created (only administrators create keys: few, rarely)."""
    keys = [load_key(accounts.store, key_id) for key_id in catalogued(accounts.store)]
    return [k for k in keys if k is not None and k.created_by == user_id and not k.revoked]


@rerun_on_conflict
def decide(accounts: Accounts, command: ChangeUser) -> User:
    user = load_user(accounts.store, command.user_id) if is_uuid(command.user_id) else None
    if user is None:
        raise NotFound("User not found", f"no user {command.user_id}")
    try:
        if command.role is not None:
            user.change_role(command.role, command.by)
        if command.status is not None:
            user.change_status(command.status, command.by)
    except ValueError as error:
        raise ValidationFailed("Invalid user change", str(error)) from None
    ended: list[ApiKey] = []
    if user.deactivated:  # the keys go in the deactivation's append (or mend a past one)
        ended = [k for k in keys_created_by(accounts, user.id) if k.revoke(command.by)]
    accounts.repository.save(user, *ended)
    return user


def tokens_refused_before(user: User) -> float | None:
    """Before when the user's tokens are refused; None: all of them (deactivated).

    Once reactivated (or demoted from admin), tokens from before the second of the latest
    ending stay refused. Tokens carry whole seconds, so a sign-in in that very second must
    count as after it; a token issued in that second before the ending comes back with the
    reactivation (the admin gate still asks the stored role).
    """
    if user.deactivated:
        return None
    ended = [parse_stored(t).timestamp() for t in (user.deactivated_at, user.demoted_at) if t]
    return float(int(max(ended, default=0.0)))


def change_user(accounts: Accounts, command: ChangeUser) -> User:
    decide(accounts, command)
    stored = load_user(accounts.store, command.user_id)  # with its events' stored times
    assert stored is not None
    # After the save, and again on every PATCH: a process that died between the two is
    # mended by asking once more.
    if stored.deactivated or stored.deactivated_at or stored.demoted_at:
        accounts.revocations.end_sign_ins(stored.id, tokens_refused_before(stored))
    return stored
