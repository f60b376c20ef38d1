"""In-memory adapters for fast tests of the use cases."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from eventsourcing.popo import POPOApplicationRecorder

from application.accounts import Accounts, load_user
from infrastructure.attempts import InMemoryAttempts
from infrastructure.event_store import RecorderEventStore
from infrastructure.known_users import KnownUsers
from infrastructure.revocations import InMemoryRevocations
from infrastructure.tokens import JwtTokens


class FixedClock:
    def __init__(self) -> None:
        # Starts at the real time: token expiry and revocation windows are wall-clock based.
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class PlainHasher:
    """Not a hash at all: fast stand-in, since these tests are about the use cases."""

    def hash(self, password: str) -> str:
        return "plain:" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain:" + password


def in_memory_store() -> RecorderEventStore:
    return RecorderEventStore(POPOApplicationRecorder(), FixedClock())


def in_memory_accounts() -> Accounts:
    clock = FixedClock()
    return Accounts(
        store=RecorderEventStore(POPOApplicationRecorder(), clock),
        hasher=PlainHasher(),
        tokens=JwtTokens("unit-test-secret-" + "y" * 32),
        revocations=InMemoryRevocations(),
        attempts=InMemoryAttempts(),
        clock=clock,
    )


class AwaitedRevocations:
    """The in-memory revocation list, asked the way requests ask it."""

    def __init__(self, revocations: InMemoryRevocations) -> None:
        self.revocations = revocations

    async def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        return self.revocations.any_revoked(ids, user_id, issued_at)


def known_users(accounts: Accounts) -> KnownUsers:
    """Which accounts exist, asked of the in-memory log the way requests ask."""

    async def registered(user_id: str) -> bool:
        try:
            return load_user(accounts.store, user_id) is not None
        except ValueError:  # not a uuid, so no stream
            return False

    return KnownUsers(registered)
