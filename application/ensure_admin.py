"""EnsureAdmin: the configured administrator exists, however many instances start at once.

Only an account the bootstrap made (with the operator's password) or one the operator
appointed by hand (`llmchat admin promote`) is ever made administrator here: anyone could
have registered the configured address first, with a password of their own.
"""

from application.accounts import Accounts, append_to_user, find_user_by_email
from application.errors import Conflict
from application.register_user import RegisterUser, register_user
from domain.user import BOOTSTRAP, User, normalise_email


class AdminAddressTaken(Exception):
    """LLMCHAT_ADMIN_EMAIL names an account the operator has not vouched for."""

    def __init__(self, email: str) -> None:
        address = normalise_email(email)
        super().__init__(
            f"LLMCHAT_ADMIN_EMAIL {address} belongs to an account this bootstrap did not"
            " create (its password is not LLMCHAT_ADMIN_PASSWORD), so it is not made"
            " administrator; set LLMCHAT_ADMIN_EMAIL to another address, or, if that"
            f" account is yours, run `llmchat admin promote {address}`"
        )


def ensure_admin(accounts: Accounts, email: str, password: str) -> User:
    for _ in range(5):
        user = find_user_by_email(accounts.store, email)
        if user is None:
            command = RegisterUser(email, password, "Administrator", "admin", BOOTSTRAP)
            try:
                return register_user(accounts, command)
            except Conflict:
                continue  # registered meanwhile: by another instance, or by someone else
        if not user.operator_appointed:
            raise AdminAddressTaken(email)
        changed = user.change_role("admin")
        if changed is None:
            return user
        if append_to_user(accounts.store, user, changed):
            return user
    raise RuntimeError(f"could not ensure the administrator {email}")
