"""The composition root builds the server's own app with any adapter replaced (api/start.py)."""

import gc

from litestar.testing import TestClient

from api.app import create_app
from api.start import started
from application.ports import AccessClaims
from infrastructure.rate_limit import RateDecision
from infrastructure.settings import read_settings
from infrastructure.tokens import JwtTokens
from tests.support.builders import login, register, unique_email


class RefusingLimiter:
    """A rate limiter whose every budget is spent: what a flood looks like, at once."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def hit(self, key: str, limit: int) -> RateDecision:
        self.keys.append(key)
        return RateDecision(False, limit, 0, 60, 7, first_refusal=len(self.keys) == 1)

    async def aclose(self) -> None:
        pass


def test_a_replaced_rate_limiter_decides_for_the_app_the_server_runs(server_env, monkeypatch):
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    limiter = RefusingLimiter()
    app = create_app(started(read_settings(), rate_limiter=limiter))
    with TestClient(app, timeout=30) as client:
        refused = client.get("/api/agents")
        assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
        assert refused.headers["retry-after"] == "7"
        assert client.get("/health").status_code == 200  # probes are never limited
    assert limiter.keys == ["ip:testclient"]


class CountedTokens(JwtTokens):
    """The server's own tokens, counting how often a signature is checked."""

    checks = 0

    def read_access(self, token: str) -> AccessClaims:
        CountedTokens.checks += 1
        return super().read_access(token)


def test_a_token_sent_with_every_request_is_verified_once(server_env, monkeypatch):
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    settings = read_settings()
    assert settings.jwt_secret
    app = create_app(started(settings, tokens=CountedTokens(settings.jwt_secret)))
    with TestClient(app, timeout=30) as client:
        email = unique_email()
        register(client, email)
        bearer = {"Authorization": f"Bearer {login(client, email)['token']}"}
        CountedTokens.checks = 0
        for _ in range(3):
            assert client.get("/api/agents", headers=bearer).status_code == 200
        assert client.post("/api/auth/logout", headers=bearer).status_code == 200
    # Rate limit, attribution and authentication all read the one check of the first request.
    assert CountedTokens.checks == 1


def test_what_startup_built_is_left_out_of_the_collectors_passes(server_env, monkeypatch):
    """A full collection walking the startup heap stopped every stream for ~100 ms."""
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    gc.unfreeze()
    thresholds = gc.get_threshold()
    app = create_app(started(read_settings()))
    assert gc.get_freeze_count() == 0
    try:
        with TestClient(app, timeout=30) as client:
            assert client.get("/health").status_code == 200
            assert gc.get_freeze_count() > 10_000
            assert gc.get_threshold()[0] == 50_000
    finally:  # the test process's own heap is not the server's
        gc.unfreeze()
        gc.set_threshold(*thresholds)
