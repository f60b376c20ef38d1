"""An API key for a service account: created with a role and scopes, revoked for good.

Only a hash of the secret is ever stored. The secret is 256 random bits, so a plain
SHA-256 is enough: slow hashes (argon2) exist to stop guessing of low-entropy passwords,
and nobody can guess 2^256; a fast hash keeps checking a key on every request cheap.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from domain.aggregate import Aggregate
from domain.events import stored_as
from domain.user import ROLES

# Recognisable in logs and secret scanners, and lets the API tell a key from a JWT.
PREFIX = "llmk_"
SCOPES = ("metrics",)
MAX_NAME = 100

# Every key is listed in this one stream, so the keys can be listed without a read model;
# keys are created rarely, so its optimistic concurrency is never a bottleneck.
CATALOGUE_ID = str(uuid.UUID("a9e1c0de-7c1a-4d0b-9b5e-2f3c4d5e6f70"))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def format_key(key_id: str, secret: str) -> str:
    return f"{PREFIX}{uuid.UUID(key_id).hex}_{secret}"


def parse_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    if not presented.startswith(PREFIX):
        return None
    hex_id, _, secret = presented[len(PREFIX) :].partition("_")
    try:
        key_id = str(uuid.UUID(hex=hex_id))
    except ValueError:
        return None
    return (key_id, secret) if secret else None


@stored_as("ApiKeyCreated")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyCreated:
    key_id: str
    name: str
    role: str
    scopes: tuple[str, ...]
    secret_hash: str
    created_by: str


@stored_as("ApiKeyRevoked")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRevoked:
    key_id: str
    revoked_by: str


@stored_as("ApiKeyCatalogued")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyCatalogued:
    key_id: str


@stored_as("ApiKeyUsed")
@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyUsed:
    """A key was used (recorded at most once a minute per key and API process)."""

    key_id: str
    ip: str
    user_agent: str


@dataclass(slots=True, kw_only=True)
class ApiKey(Aggregate):
    starts_with: ClassVar[type[Any]] = ApiKeyCreated

    name: str
    role: str
    scopes: tuple[str, ...]
    secret_hash: str
    created_by: str
    created_at: str
    revoked_at: str | None = None

    @classmethod
    def create(
        cls, key_id: str, name: str, role: str, scopes: tuple[str, ...], secret: str, by: str
    ) -> "ApiKey":
        name = name.strip()
        if not 0 < len(name) <= MAX_NAME:
            raise ValueError(f"a key's name has 1 to {MAX_NAME} characters")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}; expected some of {SCOPES}")
        created = ApiKeyCreated(
            key_id=key_id,
            name=name,
            role=role,
            scopes=tuple(sorted(set(scopes))),
            secret_hash=hash_secret(secret),
            created_by=by,
        )
        return cls.begin(created)

    @classmethod
    def started(cls, first: ApiKeyCreated, timestamp: str) -> "ApiKey":
        return cls.from_first(
            first, id=first.key_id, scopes=tuple(first.scopes), created_at=timestamp
        )

    def apply(self, event: object, timestamp: str) -> None:
        if isinstance(event, ApiKeyRevoked):
            self.revoked_at = timestamp

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    def revoke(self, by: str) -> ApiKeyRevoked | None:
        """None when already revoked: revoking twice changes nothing."""
        return None if self.revoked else self.trigger(ApiKeyRevoked(key_id=self.id, revoked_by=by))
