"""RegisterUser: a new account with a unique e-mail address."""

import re
from dataclasses import dataclass

from application.accounts import Accounts, email_owner, load_user, new_id
from application.errors import Conflict, StreamConflict, ValidationFailed
from domain.user import (
    SELF,
    User,
    invisible_in_email,
    legacy_email_claim_id,
    normalise_email,
)

# Deliberately loose: one @, a dot in the domain, no spaces. Real validation is the
# confirmation mail a deployment may add; this only refuses what cannot be an address.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
# Bounds the hashing work one request can ask for.
MAX_PASSWORD = 1024


@dataclass(frozen=True, slots=True)
class RegisterUser:
    email: str
    password: str
    name: str
    role: str = "user"
    registered_by: str = SELF


def email_taken() -> Conflict:
    return Conflict("Email already registered", "email: an account with this address exists")


def validate(command: RegisterUser) -> None:
    invisible = invisible_in_email(command.email)
    if invisible is not None:
        raise ValidationFailed(
            "Invalid email address", f"email: must not contain U+{ord(invisible):04X}"
        )
    email = normalise_email(command.email)
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValidationFailed("Invalid email address", "email: not a valid address")
    if not MIN_PASSWORD <= len(command.password) <= MAX_PASSWORD:
        problem = "short" if len(command.password) < MIN_PASSWORD else "long"
        raise ValidationFailed(
            f"Password too {problem}",
            f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters",
        )
    if not 1 <= len(command.name.strip()) <= 100:
        raise ValidationFailed("Invalid name", "name: must be 1 to 100 characters")


def register_user(accounts: Accounts, command: RegisterUser) -> User:
    try:
        return register(accounts, command)
    except StreamConflict:
        raise email_taken() from None


def register(accounts: Accounts, command: RegisterUser) -> User:
    """The new account; StreamConflict when its address was claimed first."""
    validate(command)
    # An address registered before normalisation was claimed under its old spelling.
    legacy = legacy_email_claim_id(command.email) is not None
    if legacy and email_owner(accounts.store, command.email) is not None:
        raise email_taken()
    user = User.register(
        new_id(),
        command.email,
        command.name,
        command.role,
        accounts.hasher.hash(command.password),
        command.registered_by,
    )
    # Both streams in one transaction: the claim's fixed id makes a second
    # registration of the address fail here, on any number of API instances.
    accounts.repository.save(user, user.claim_email())
    stored = load_user(accounts.store, user.id)  # with its registration's stored time
    assert stored is not None
    return stored
