"""EnsureAdmin: the configured administrator exists, however many instances start at once.

Only an account the bootstrap made (with the operator's password) or one the operator
appointed by hand (`llmchat admin promote`) is ever made administrator here: anyone could
have registered the configured address first, with a password of their own.
"""

from application.accounts import Accounts, find_user_by_email
from application.register_user import RegisterUser, register
from application.retry import rerun_on_conflict_or
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


def not_ensured(accounts: Accounts, email: str, password: str) -> RuntimeError:
    return RuntimeError(f"could not ensure the administrator {email}")


@rerun_on_conflict_or(not_ensured)
def ensure_admin(accounts: Accounts, email: str, password: str) -> User:
    """Safe to re-run: another instance registering or promoting the account first is a
    conflict, and the next run finds what it wrote."""
    user = find_user_by_email(accounts.store, email)
    if user is None:
        command = RegisterUser(email, password, "Administrator", "admin", BOOTSTRAP)
        return register(accounts, command)
    if not user.operator_appointed:
        raise AdminAddressTaken(email)
    user.change_role("admin")
    accounts.repository.save(user)
    return user
