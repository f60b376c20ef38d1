"""What the auth use cases share: their ports, and loading a user by id or e-mail."""

import uuid
from dataclasses import dataclass

from application.errors import StreamConflict
from application.ports import (
    AttemptCounter,
    Clock,
    EventStore,
    PasswordHasher,
    PendingEvent,
    RevocationList,
    TokenService,
)
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


def new_id() -> str:
    return str(uuid.uuid4())


def load_user(store: EventStore, user_id: str) -> User | None:
    history = store.read(user_id)
    if not history:
        return None
    return User.replay([(r.event, r.timestamp) for r in history])


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
    store.append([PendingEvent(new_id(), 1, event)])


def append_or_conflict(store: EventStore, events: list[PendingEvent]) -> bool:
    try:
        store.append(events)
    except StreamConflict:
        return False
    return True


def append_to_user(store: EventStore, user: User, event: object) -> bool:
    """Append `event` as the user's next version and apply it; False if another writer
    appended to the account first (read it again and decide again)."""
    if not append_or_conflict(store, [PendingEvent(user.id, user.version + 1, event)]):
        return False
    user.apply(event)
    return True
