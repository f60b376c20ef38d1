"""Signed JWTs for access and refresh; HS256 only, so `alg: none` or a re-signed token fails."""

import functools
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from application.errors import Unauthorized
from application.ports import AccessClaims, IssuedToken, RefreshClaims

ALGORITHMS = ["HS256"]
ACCESS_TTL = 3600
REFRESH_TTL = 30 * 24 * 3600
REQUIRED = ["sub", "jti", "iat", "exp", "typ", "fam"]


class JwtTokens:
    access_ttl = ACCESS_TTL
    refresh_ttl = REFRESH_TTL

    def __init__(self, secret: str | Callable[[], str]) -> None:
        self.given = secret

    @functools.cached_property
    def secret(self) -> str:
        """Read (or made and kept) on first use: wiring writes nothing, and a read-only
        command never signs or checks a token."""
        return self.given if isinstance(self.given, str) else self.given()

    def issue(
        self, claims: dict[str, Any], ttl: int, jti: str | None, issued_at: int | None
    ) -> IssuedToken:
        # Given the same jti and time, the same token: HS256 over the same claims, in the
        # same order, is deterministic. A rotation's pair is issued again that way.
        now = int(time.time()) if issued_at is None else issued_at
        jti = jti or str(uuid.uuid4())
        payload = {**claims, "jti": jti, "iat": now, "exp": now + ttl}
        return IssuedToken(jwt.encode(payload, self.secret, algorithm="HS256"), jti, now + ttl)

    def issue_access(
        self,
        user_id: str,
        role: str,
        family_id: str,
        jti: str | None = None,
        issued_at: int | None = None,
    ) -> IssuedToken:
        claims = {"sub": user_id, "role": role, "fam": family_id, "typ": "access"}
        return self.issue(claims, self.access_ttl, jti, issued_at)

    def issue_refresh(
        self, user_id: str, family_id: str, jti: str | None = None, issued_at: int | None = None
    ) -> IssuedToken:
        claims = {"sub": user_id, "fam": family_id, "typ": "refresh"}
        return self.issue(claims, self.refresh_ttl, jti, issued_at)

    def decode(self, token: str, kind: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.secret, algorithms=ALGORITHMS, options={"require": REQUIRED}
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Token expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token") from None
        if claims.get("typ") != kind:
            raise Unauthorized(
                f"Not an {kind} token" if kind == "access" else "Not a refresh token"
            )
        return claims

    def read_access(self, token: str) -> AccessClaims:
        claims = self.decode(token, "access")
        return AccessClaims(
            str(claims["sub"]),
            str(claims.get("role", "user")),
            str(claims["jti"]),
            str(claims["fam"]),
            int(claims["exp"]),
            int(claims["iat"]),
        )

    def read_refresh(self, token: str) -> RefreshClaims:
        claims = self.decode(token, "refresh")
        return RefreshClaims(
            str(claims["sub"]),
            str(claims["jti"]),
            str(claims["fam"]),
            int(claims["exp"]),
            int(claims["iat"]),
        )


def load_or_create_secret(data_dir: Path) -> str:
    """The secret generated on first start and kept, so tokens survive a restart."""
    path = data_dir / "jwt_secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="ascii") as handle:  # only one instance wins the create
            path.chmod(0o600)
            handle.write(secrets.token_urlsafe(48))
    except FileExistsError:
        pass
    for _ in range(50):
        secret = path.read_text(encoding="ascii").strip()
        if secret:
            return secret
        time.sleep(0.01)  # the winner has created the file but not yet written it
    raise RuntimeError(f"{path} is empty")
