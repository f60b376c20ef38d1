"""SignIn: check a password and open a token family; slow down guessing."""

from dataclasses import dataclass
from typing import TypedDict

from application.accounts import Accounts, find_user_by_email, new_id, record
from application.errors import Forbidden, RateLimited, Unauthorized
from domain.security import SignInFailed, SignInThrottled
from domain.token_family import SignedIn, TokenFamily
from domain.user import User, normalise_email

# OWASP's authentication cheat sheet: lock out after a handful of failures per account,
# and more per address (several people can share one), for a quarter of an hour.
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 30
WINDOW = 15 * 60


@dataclass(frozen=True, slots=True)
class SignIn:
    email: str
    password: str
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class TokenPair:
    token: str
    refresh_token: str
    expires_in: int
    user: User


class Attempt(TypedDict):
    """What a refused or failed sign-in records of the attempt."""

    email: str
    user_id: str | None
    ip: str
    user_agent: str


def attempt(command: SignIn, user: User | None) -> Attempt:
    return Attempt(
        email=normalise_email(command.email),
        user_id=user.id if user else None,
        ip=command.ip,
        user_agent=command.user_agent,
    )


def throttle_keys(command: SignIn) -> list[tuple[str, int]]:
    return [
        (f"login:account:{normalise_email(command.email)}", ACCOUNT_FAILURES),
        (f"login:address:{command.ip}", ADDRESS_FAILURES),
    ]


def reserve_attempt(accounts: Accounts, command: SignIn) -> None:
    """Count this attempt before its password is checked, or refuse it: counting after the
    check let concurrent guesses all be checked while the counters still read low."""
    retry_after = accounts.attempts.reserve(throttle_keys(command), WINDOW)
    if not retry_after:
        return
    user = find_user_by_email(accounts.store, command.email)
    record(accounts.store, SignInThrottled(**attempt(command, user), retry_after=retry_after))
    raise RateLimited("Too many failed sign-ins; try again later", retry_after)


def fail(accounts: Accounts, command: SignIn, user: User | None, reason: str) -> Unauthorized:
    # The attempt reserved stays counted: it is the failure.
    record(accounts.store, SignInFailed(**attempt(command, user), reason=reason))
    return Unauthorized("Invalid email or password")


def succeed(accounts: Accounts, command: SignIn) -> None:
    """Only failures count: the account's slate is wiped, the address gets its attempt
    back (others behind the address may still be guessing)."""
    (account, _), (address, _) = throttle_keys(command)
    accounts.attempts.clear(account)
    accounts.attempts.release(address)


def open_family(accounts: Accounts, user: User, ip: str, user_agent: str) -> TokenPair:
    family_id = new_id()
    access = accounts.tokens.issue_access(user.id, user.role, family_id)
    refresh = accounts.tokens.issue_refresh(user.id, family_id)
    signed_in = SignedIn(
        family_id=family_id,
        user_id=user.id,
        refresh_jti=refresh.jti,
        access_jti=access.jti,
        ip=ip,
        user_agent=user_agent,
    )
    accounts.repository.save(TokenFamily.begin(signed_in))  # a fresh id cannot collide
    return TokenPair(access.token, refresh.token, accounts.tokens.access_ttl, user)


def sign_in(accounts: Accounts, command: SignIn) -> TokenPair:
    reserve_attempt(accounts, command)
    try:
        user = checked_user(accounts, command)
    except Unauthorized:
        raise
    except BaseException:
        # The check never finished (the database is down, say): not a failure, so the
        # attempt is given back rather than locking the account during an outage.
        for key, _ in throttle_keys(command):
            accounts.attempts.release(key)
        raise
    succeed(accounts, command)
    if user.deactivated:
        # Told only once the password is right: a guesser learns nothing from it.
        record(accounts.store, SignInFailed(**attempt(command, user), reason="deactivated"))
        raise Forbidden("Account deactivated", "this account has been deactivated")
    return open_family(accounts, user, command.ip, command.user_agent)


def checked_user(accounts: Accounts, command: SignIn) -> User:
    user = find_user_by_email(accounts.store, command.email)
    if user is None:
        # Hash anyway, so an unknown address takes as long as a wrong password.
        accounts.hasher.verify(DUMMY_HASH, command.password)
        raise fail(accounts, command, None, "unknown_email")
    if not accounts.hasher.verify(user.password_hash, command.password):
        raise fail(accounts, command, user, "wrong_password")
    return user


# argon2id hash of a random password nobody knows; only its verification time matters.
DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
    "3m2pBn0lCUyQKm0Yc5ZbUyQWbYp7lJxq7sOEc9F3m1Q"
)
