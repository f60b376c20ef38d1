"""What the API-key use cases share: the principal a key stands for, and loading a key."""

import threading
import time
import uuid
from dataclasses import dataclass, field

from application.ports import AccessClaims, EventStore
from application.repository import Repository
from domain.api_key import CATALOGUE_ID, ApiKey, ApiKeyCatalogued

# The family a key's principal belongs to: a stream that never exists, so signing out
# with a key is harmless (it neither touches the key nor another user's sign-in).
KEY_FAMILY_NAMESPACE = uuid.UUID("3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
# At most one ApiKeyUsed per key per API process in this many seconds.
USE_AUDIT_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class ApiKeyClaims(AccessClaims):
    """A key's principal: the key is its own service account, so user_id is the key's id."""

    scopes: tuple[str, ...] = ()


@dataclass(slots=True)
class UseAudit:
    """Remembers when each key's use was last recorded in this process."""

    recorded_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def due(self, key_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            if now - self.recorded_at.get(key_id, -USE_AUDIT_INTERVAL) < USE_AUDIT_INTERVAL:
                return False
            self.recorded_at[key_id] = now
            return True


@dataclass(frozen=True, slots=True)
class ApiKeys:
    store: EventStore
    use_audit: UseAudit = field(default_factory=UseAudit)

    @property
    def repository(self) -> Repository:
        return Repository(self.store)


def load_key(store: EventStore, key_id: str) -> ApiKey | None:
    """The key, or None when the id is malformed or names no key (maybe another stream)."""
    return Repository(store).get(ApiKey, key_id)


def claims_of(key: ApiKey) -> ApiKeyClaims:
    family = str(uuid.uuid5(KEY_FAMILY_NAMESPACE, key.id))
    return ApiKeyClaims(key.id, key.role, key.id, family, 0, scopes=key.scopes)


def catalogued(store: EventStore) -> list[str]:
    """Every key's id, oldest first (the catalogue stream lists them all)."""
    return [
        r.event.key_id for r in store.read(CATALOGUE_ID) if isinstance(r.event, ApiKeyCatalogued)
    ]
