"""The composition root builds the server's own app with any adapter replaced (api/start.py)."""

from litestar.testing import TestClient

from api.app import create_app
from api.start import started
from infrastructure.rate_limit import RateDecision
from infrastructure.settings import read_settings


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
