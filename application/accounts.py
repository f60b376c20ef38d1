"""What the auth use cases share: their ports, and loading a user by id or e-mail."""

import uuid
from dataclasses import dataclass

from application.ports import (
    AttemptCounter,
    Clock,
    EventStore,
    PasswordHasher,
    RevocationList,
    TokenService,
)
from application.repository import Repository
from domain.user import EmailClaimed, User, email_claim_id, legacy_email_claim_id


@dataclass(frozen=True, slots=True)
class Accounts:
    store: EventStore
    hasher: PasswordHasher
    tokens: TokenService
    revocations: RevocationList
    attempts: AttemptCounter
    clock: Clock
    # Seconds during which a just-rotated refresh token, presented again, gets the pair
    # its rotation issued (a client's concurrent refreshes) rather than revoking the family.
    refresh_grace: int = 10

    @property
    def repository(self) -> Repository:
        return Repository(self.store)


def new_id() -> str:
    return str(uuid.uuid4())


def load_user(store: EventStore, user_id: str) -> User | None:
    return Repository(store).get(User, user_id)


def stored_role(store: EventStore, user_id: str) -> str | None:
    """The role the user has now (a token's may be older); None for no active account."""
    user = load_user(store, user_id)
    return None if user is None or user.deactivated else user.role


def claimed_by(store: EventStore, claim_id: str) -> str | None:
    claim = store.read(claim_id)
    if not claim or not isinstance(claim[0].event, EmailClaimed):
        return None
    return claim[0].event.user_id


def email_owner(store: EventStore, email: str) -> str | None:
    """Whose address this is: under its claim, or under the claim it had when addresses
    were only lower-cased (no claim is written that way any more, so a read suffices)."""
    owner = claimed_by(store, email_claim_id(email))
    legacy = legacy_email_claim_id(email)
    return owner if owner is not None or legacy is None else claimed_by(store, legacy)


def find_user_by_email(store: EventStore, email: str) -> User | None:
    owner = email_owner(store, email)
    return None if owner is None else load_user(store, owner)


def record(store: EventStore, event: object) -> None:
    """Append a one-off event as a stream of its own (it can never conflict)."""
    Repository(store).record(new_id(), event)
