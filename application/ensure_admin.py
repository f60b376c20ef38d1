"""EnsureAdmin: the configured administrator exists, however many instances start at once."""

from application.accounts import Accounts, append_or_conflict, find_user_by_email
from application.errors import Conflict
from application.ports import PendingEvent
from application.register_user import RegisterUser, register_user
from domain.user import User


def ensure_admin(accounts: Accounts, email: str, password: str) -> User:
    for _ in range(5):
        user = find_user_by_email(accounts.store, email)
        if user is None:
            try:
                return register_user(
                    accounts, RegisterUser(email, password, "Administrator", "admin")
                )
            except Conflict:
                continue  # another instance registered it first; promote what it made
        changed = user.change_role("admin")
        if changed is None:
            return user
        if append_or_conflict(accounts.store, [PendingEvent(user.id, user.version + 1, changed)]):
            user.apply(changed)
            return user
    raise RuntimeError(f"could not ensure the administrator {email}")
