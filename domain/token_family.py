"""A sign-in and the chain of refresh tokens it issues.

Refresh tokens rotate on every use. Only the newest one is live; presenting an older one
means it leaked, so the whole family is revoked (OAuth 2.0 Security BCP, section 4.14).
One exception: the token the latest rotation replaced, presented again within a short
grace window, is a client's concurrent use (two tabs refreshing at once), not a leak; it
gets that rotation's pair again instead of revoking the family.
"""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain.aggregate import Aggregate
from domain.events import stored_as


@stored_as("SignedIn")
@dataclass(frozen=True, slots=True, kw_only=True)
class SignedIn:
    family_id: str
    user_id: str
    refresh_jti: str
    access_jti: str
    ip: str
    user_agent: str


@stored_as("TokenRefreshed")
@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRefreshed:
    family_id: str
    user_id: str
    previous_jti: str
    refresh_jti: str
    access_jti: str
    ip: str
    user_agent: str
    # What the new pair was issued with (unix seconds, the role it carries), so the same
    # pair can be issued again, byte for byte, to a concurrent use of the old token. Zero
    # and empty in events written before: those rotations get no grace.
    issued_at: int = 0
    role: str = ""


@stored_as("RefreshReuseDetected")
@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshReuseDetected:
    family_id: str
    user_id: str
    presented_jti: str
    ip: str
    user_agent: str


@stored_as("SignedOut")
@dataclass(frozen=True, slots=True, kw_only=True)
class SignedOut:
    family_id: str
    user_id: str
    access_jti: str
    ip: str
    user_agent: str


FamilyEvent = SignedIn | TokenRefreshed | RefreshReuseDetected | SignedOut


@dataclass(slots=True, kw_only=True)
class TokenFamily(Aggregate):
    starts_with: ClassVar[type[Any]] = SignedIn

    user_id: str
    live_refresh_jti: str
    access_jtis: list[str] = field(default_factory=list)
    revoked: bool = False
    latest_rotation: TokenRefreshed | None = None

    @classmethod
    def started(cls, first: SignedIn, timestamp: str) -> "TokenFamily":
        return cls(id=first.family_id, user_id=first.user_id, live_refresh_jti="")

    def apply(self, event: object, timestamp: str) -> None:
        match event:
            case SignedIn(refresh_jti=jti, access_jti=access):
                self.live_refresh_jti = jti
                self.access_jtis.append(access)
            case TokenRefreshed(refresh_jti=jti, access_jti=access):
                self.live_refresh_jti = jti
                self.access_jtis.append(access)
                self.latest_rotation = event
            case RefreshReuseDetected() | SignedOut():
                self.revoked = True

    def concurrent_rotation(
        self, presented_jti: str, now: int, grace: int
    ) -> TokenRefreshed | None:
        """The rotation a concurrent use of `presented_jti` shares: the latest one, if it
        replaced that token no more than `grace` seconds ago (a grace of 0 gives none:
        times are whole seconds, so `<= 0` would still share a rotation of the same second)."""
        latest = self.latest_rotation
        if grace <= 0 or self.revoked or latest is None or latest.previous_jti != presented_jti:
            return None
        return latest if latest.issued_at and now - latest.issued_at <= grace else None

    def refresh(
        self,
        presented_jti: str,
        refresh_jti: str,
        access_jti: str,
        ip: str,
        user_agent: str,
        issued_at: int = 0,
        role: str = "",
    ) -> TokenRefreshed | RefreshReuseDetected | None:
        """Rotate, or report reuse; None when the family is already revoked."""
        if self.revoked:
            return None
        if presented_jti != self.live_refresh_jti:
            reused = RefreshReuseDetected(
                family_id=self.id,
                user_id=self.user_id,
                presented_jti=presented_jti,
                ip=ip,
                user_agent=user_agent,
            )
            return self.trigger(reused)
        rotated = TokenRefreshed(
            family_id=self.id,
            user_id=self.user_id,
            previous_jti=presented_jti,
            refresh_jti=refresh_jti,
            access_jti=access_jti,
            ip=ip,
            user_agent=user_agent,
            issued_at=issued_at,
            role=role,
        )
        return self.trigger(rotated)

    def sign_out(self, access_jti: str, ip: str, user_agent: str) -> SignedOut | None:
        if self.revoked:
            return None
        signed_out = SignedOut(
            family_id=self.id,
            user_id=self.user_id,
            access_jti=access_jti,
            ip=ip,
            user_agent=user_agent,
        )
        return self.trigger(signed_out)
