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

The last active administrator can be neither demoted nor deactivated (409): with none
left, nobody could administer users again but an operator at the command line.
"""

from dataclasses import dataclass
from typing import Protocol

from application.accounts import Accounts, load_user, stored_role
from application.api_keys import catalogued, load_key
from application.errors import Conflict, NotFound, ValidationFailed
from application.retry import rerun_on_conflict
from domain.api_key import ApiKey
from domain.ids import is_uuid
from domain.timestamps import parse_stored
from domain.user import ADMINISTRATORS_ID, AdministratorLeft, User


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


class Administrators(Protocol):
    def active_admins(self) -> list[str]:
        """The ids of the active administrators as the users read model has them (it may
        lag: each is checked against its own stream before it counts)."""
        ...


def another_admin(accounts: Accounts, admins: Administrators, user_id: str) -> bool:
    others = (a for a in admins.active_admins() if a != user_id)
    return any(stored_role(accounts.store, other) == "admin" for other in others)


@rerun_on_conflict
def decide(accounts: Accounts, admins: Administrators, command: ChangeUser) -> User:
    user = load_user(accounts.store, command.user_id) if is_uuid(command.user_id) else None
    if user is None:
        raise NotFound("User not found", f"no user {command.user_id}")
    administered = user.administers
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
    if not (administered and not user.administers):
        accounts.repository.save(user, *ended)
        return user
    # The last administrator stays: nobody could administer users (or undo this) after.
    if not another_admin(accounts, admins, user.id):
        raise Conflict(
            "The only administrator cannot be demoted or deactivated",
            "make another user administrator first",
        )
    # Two such changes at once (each of two admins demoting the other) collide here, and the
    # one that runs again sees the other's change on the other's stream.
    roster = accounts.repository.head(ADMINISTRATORS_ID)
    roster.trigger(AdministratorLeft(user_id=user.id))
    accounts.repository.save(user, roster, *ended)
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


def change_user(accounts: Accounts, admins: Administrators, command: ChangeUser) -> User:
    """The user as this change left it (another change may follow at once)."""
    decided = decide(accounts, admins, command)
    stored = load_user(accounts.store, command.user_id)  # with its events' stored times
    assert stored is not None
    # After the save, and again on every PATCH: a process that died between the two is
    # mended by asking once more. Each says which version of the user it speaks for, so
    # concurrent changes leave the newest one's, whichever order they write in.
    if stored.deactivated or stored.deactivated_at or stored.demoted_at:
        before = tokens_refused_before(stored)
        accounts.revocations.end_sign_ins(stored.id, before, stored.version)
    return decided
