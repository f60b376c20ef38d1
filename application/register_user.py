"""RegisterUser: a new account with a unique e-mail address."""

import re
from dataclasses import dataclass

from application.accounts import Accounts, append_or_conflict, load_user, new_id
from application.errors import Conflict, ValidationFailed
from application.ports import PendingEvent
from domain.user import SELF, EmailClaimed, User, email_claim_id, normalise_email

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


def validate(command: RegisterUser) -> None:
    email = normalise_email(command.email)
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValidationFailed("Invalid email address", "email: not a valid address")
    if not MIN_PASSWORD <= len(command.password) <= MAX_PASSWORD:
        raise ValidationFailed(
            "Password too short",
            f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters",
        )
    if not 1 <= len(command.name.strip()) <= 100:
        raise ValidationFailed("Invalid name", "name: must be 1 to 100 characters")


def register_user(accounts: Accounts, command: RegisterUser) -> User:
    validate(command)
    user_id = new_id()
    registered = User.register(
        user_id,
        command.email,
        command.name,
        command.role,
        accounts.hasher.hash(command.password),
        command.registered_by,
    )
    claim = EmailClaimed(email=registered.email, user_id=user_id)
    # Both streams in one transaction: the claim's fixed id makes a second
    # registration of the address fail here, on any number of API instances.
    appended = append_or_conflict(
        accounts.store,
        [
            PendingEvent(user_id, 1, registered),
            PendingEvent(email_claim_id(registered.email), 1, claim),
        ],
    )
    if not appended:
        raise Conflict("Email already registered", "email: an account with this address exists")
    user = load_user(accounts.store, user_id)
    assert user is not None
    return user
