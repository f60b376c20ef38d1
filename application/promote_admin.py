"""PromoteAdmin: an operator makes an existing account administrator, by hand.

The way to resolve a refused start (LLMCHAT_ADMIN_EMAIL naming an account the bootstrap
did not make) once the operator has checked that the account is theirs; from then on the
bootstrap accepts it too.
"""

from application.accounts import Accounts, find_user_by_email
from application.errors import NotFound
from application.retry import rerun_on_conflict_or
from domain.user import User, normalise_email


def keeps_changing(accounts: Accounts, email: str) -> RuntimeError:
    return RuntimeError(f"could not promote {email}: the account keeps changing")


@rerun_on_conflict_or(keeps_changing)
def promote_admin(accounts: Accounts, email: str) -> User:
    user = find_user_by_email(accounts.store, email)
    if user is None:
        raise NotFound(f"no account with the address {normalise_email(email)}")
    user.appoint_admin()
    accounts.repository.save(user)
    return user
