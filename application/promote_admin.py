"""PromoteAdmin: an operator makes an existing account administrator, by hand.

The way to resolve a refused start (LLMCHAT_ADMIN_EMAIL naming an account the bootstrap
did not make) once the operator has checked that the account is theirs; from then on the
bootstrap accepts it too.
"""

from application.accounts import Accounts, append_to_user, find_user_by_email
from application.errors import NotFound
from domain.user import User, normalise_email


def promote_admin(accounts: Accounts, email: str) -> User:
    for _ in range(5):
        user = find_user_by_email(accounts.store, email)
        if user is None:
            raise NotFound(f"no account with the address {normalise_email(email)}")
        appointed = user.appoint_admin()
        if appointed is None:
            return user
        if append_to_user(accounts.store, user, appointed):
            return user
    raise RuntimeError(f"could not promote {email}: the account keeps changing")
