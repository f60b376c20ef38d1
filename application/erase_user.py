"""EraseUser: every conversation, file and personal field of a user made unreadable for good.

POST /api/admin/users/{userId}/erase (an administrator) and DELETE /api/auth/me (the user,
with their password). One append holds UserErased, FileDeleted for each of their files and
ApiKeyRevoked for each key they created, and in its transaction every data key the user
owns is destroyed (their conversations' and their own): the events stay as they were
sealed, and what they held can no longer be read anywhere. Text an older main stored in
the clear is rewritten out of its events in the same transaction (see Erasure). Then the
files' bytes and parse results are deleted, and every sign-in of the user is ended (as a
deactivation ends them, on every instance). The audit trail keeps who erased whom, when.

The last active administrator cannot be erased (409), as it cannot be deactivated.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from application.accounts import Accounts, load_user
from application.change_user import Administrators, another_admin, keys_created_by
from application.errors import Conflict, NotFound, Unauthorized
from application.files import Files, load_file
from application.ports import PendingEvent
from application.retry import rerun_on_conflict
from domain.aggregate import Aggregate
from domain.ids import is_uuid
from domain.user import ADMINISTRATORS_ID, AdministratorLeft, AlreadyErased, User

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EraseUser:
    user_id: str
    by: str
    # The user's own password, for their own erasure; None when an administrator asks.
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Owned:
    """What the log says the user owns: their files, and the streams an older main wrote
    their text into in the clear (conversations, replies, files, account, e-mail claim)."""

    file_ids: list[str]
    plain_streams: list[str]


class Erasure(Protocol):
    def owned(self, user_id: str) -> Owned: ...

    def record(self, events: Sequence[PendingEvent], user_id: str, streams: Sequence[str]) -> int:
        """Append `events`, destroy every data key `user_id` owns and erase the text stored
        in the clear in `streams`, in one transaction (StreamConflict: none of it).
        Returns how many keys were destroyed."""
        ...


@dataclass(frozen=True, slots=True)
class Erased:
    user: User
    keys_destroyed: int
    files_deleted: int


@dataclass(frozen=True, slots=True)
class Erasing:
    """What an erasure uses: accounts, files, the erasure's transaction, the administrators."""

    accounts: Accounts
    files: Files
    erasure: Erasure
    admins: Administrators


def erase_user(erasing: Erasing, command: EraseUser) -> Erased:
    accounts, files = erasing.accounts, erasing.files
    erased, file_ids = decide(accounts, erasing.erasure, erasing.admins, command)
    for file_id in file_ids:
        try:
            files.remove_contents(file_id)
        except Exception:  # the keys are gone; bytes left behind are named to be removed
            log.exception("user %s erased; file %s's bytes not removed", command.user_id, file_id)
    stored = load_user(accounts.store, command.user_id)
    assert stored is not None
    accounts.revocations.end_sign_ins(stored.id, None, stored.version)
    return erased


@rerun_on_conflict
def decide(
    accounts: Accounts, erasure: Erasure, admins: Administrators, command: EraseUser
) -> tuple[Erased, list[str]]:
    user = load_user(accounts.store, command.user_id) if is_uuid(command.user_id) else None
    if user is None or (user.erased and command.password is not None):
        raise NotFound("User not found", f"no user {command.user_id}")
    if command.password is not None and not accounts.hasher.verify(
        user.password_hash, command.password
    ):
        raise Unauthorized("Invalid password", "the password is not this account's")
    administered = user.administers
    try:
        user.erase(command.by)
    except AlreadyErased:
        raise Conflict("User already erased", f"user {user.id} was erased before") from None
    owned = erasure.owned(user.id)
    changed: list[Aggregate] = [user]
    for file_id in owned.file_ids:
        file = load_file(accounts.store, file_id)
        if file is not None and not file.deleted:
            file.delete(deleted_by=command.by)
            changed.append(file)
    deleted = len(changed) - 1
    changed += [key for key in keys_created_by(accounts, user.id) if key.revoke(command.by)]
    if administered:
        if not another_admin(accounts, admins, user.id):
            raise Conflict(
                "The only administrator cannot be erased", "make another user administrator first"
            )
        roster = accounts.repository.head(ADMINISTRATORS_ID)
        roster.trigger(AdministratorLeft(user_id=user.id))
        changed.append(roster)
    events = [event for aggregate in changed for event in aggregate.collect()]
    destroyed = erasure.record(events, user.id, owned.plain_streams)
    return Erased(user, destroyed, deleted), owned.file_ids
