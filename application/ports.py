"""The ports use cases need from the world outside; infrastructure implements them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.aggregate import PendingEvent as PendingEvent
from domain.conversation import ReplyFinished
from domain.events import Recorded


class EventStore(Protocol):
    def append(self, events: Sequence[PendingEvent]) -> list[int]:
        """Append atomically; raise StreamConflict if any version is taken. Returns positions."""
        ...

    def read(self, stream_id: str, after: int = 0) -> list[Recorded]:
        """The stream's events after version `after`, oldest first."""
        ...

    def read_all(self, after: int, limit: int) -> list[Recorded]: ...

    def version(self, stream_id: str) -> int:
        """The stream's newest version (0 for no stream), without reading the stream."""
        ...

    def latest_type(self, stream_id: str) -> type | None:
        """The type of the stream's newest event (None for no stream), decoding nothing:
        a conversation's newest event may be an import of a thousand messages."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    role: str
    jti: str
    family_id: str
    expires_at: int
    issued_at: int = 0  # unix seconds (JWT `iat`)


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    user_id: str
    jti: str
    family_id: str
    expires_at: int
    issued_at: int = 0  # unix seconds (JWT `iat`)


class TokenService(Protocol):
    access_ttl: int
    refresh_ttl: int

    def issue_access(
        self,
        user_id: str,
        role: str,
        family_id: str,
        jti: str | None = None,
        issued_at: int | None = None,
    ) -> IssuedToken:
        """A new access token; with `jti` and `issued_at`, the same token every time."""
        ...

    def issue_refresh(
        self, user_id: str, family_id: str, jti: str | None = None, issued_at: int | None = None
    ) -> IssuedToken:
        """A new refresh token; with `jti` and `issued_at`, the same token every time."""
        ...

    def read_access(self, token: str) -> AccessClaims:
        """Raise Unauthorized unless this is a valid, unexpired access token."""
        ...

    def read_refresh(self, token: str) -> RefreshClaims:
        """Raise Unauthorized unless this is a valid, unexpired refresh token."""
        ...


class RevocationList(Protocol):
    """Token ids and families that must be refused, and users whose tokens issued before a
    moment must be, shared by every API instance."""

    def revoke(self, ids: Sequence[str], until: int) -> None: ...

    def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        """Whether any of `ids` is revoked, or (given `user_id`) a token of that user issued
        at `issued_at` (unix seconds) falls before the user's sign-ins were ended."""
        ...

    def end_sign_ins(self, user_id: str, before: float | None, version: int) -> None:
        """Refuse every token of the user issued before `before` (unix seconds); None:
        every token, whenever issued, until this is called again. `version` is the user's
        stream version this follows from: an older one than already given changes nothing."""
        ...


class AttemptCounter(Protocol):
    """Sign-in attempts per key within a fixed window, shared by every API instance."""

    def reserve(self, limits: Sequence[tuple[str, int]], window: int) -> int:
        """Count one attempt against every (key, limit), atomically and only if each key is
        under its limit: 0 when counted, else the seconds until the first full key's
        window ends (and nothing is counted)."""
        ...

    def release(self, key: str) -> None:
        """Take back one attempt counted on `key` (it turned out not to be a failure)."""
        ...

    def clear(self, key: str) -> None: ...


class EventWriter(Protocol):
    """Appends events from async code; resolves once they are durable."""

    async def write(self, events: Sequence[PendingEvent]) -> list[int]: ...


class ReplySignals(Protocol):
    """Tells other instances that a reply has new stored frames, or should be cancelled."""

    async def announce(self, message_id: str) -> None: ...

    async def wait(self, message_id: str, within: float) -> None:
        """Return when a frame of this reply is announced, or after `within` seconds."""
        ...

    async def request_cancel(self, message_id: str) -> None: ...


class ReplyMetrics(Protocol):
    """What operators watch of replies: how many stream now, how fast they start, failures."""

    def reply_started(self) -> None: ...

    def first_chunk(self, provider: str, seconds: float) -> None: ...

    def reply_ended(self, provider: str, outcome: str, error: str | None) -> None: ...

    def usage(self, finished: ReplyFinished) -> None:
        """The reply's tokens (and so its cost), as its ReplyFinished records them."""
        ...

    def fell_back(self, from_agent: str, to_agent: str, reason: str) -> None: ...
