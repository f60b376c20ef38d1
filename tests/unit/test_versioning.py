"""Version negotiation and deprecation notices, on a tiny app of their own."""

from datetime import UTC, datetime

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from api.versioning import accepted, deprecated, versioning_middleware


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        ("", True),
        ("application/json", True),
        ("application/vnd.llmchat.v1+json", True),
        ("application/vnd.llmchat.v1.0+json", True),
        ("application/vnd.llmchat+json", True),
        ("application/vnd.llmchat.v9+json", False),
        ("application/vnd.llmchat.v2+json; q=1, application/vnd.llmchat.v9+json", False),
        ("application/vnd.llmchat.v9+json, application/json;q=0.5", True),
        ("application/vnd.llmchat.v9+json, */*", True),
    ],
)
def test_accept_negotiation(accept, ok):
    assert accepted(accept) is ok


SINCE = datetime(2026, 1, 1, tzinfo=UTC)


@get("/api/old", opt=deprecated(SINCE, successor="/api/new"))
async def old() -> dict[str, str]:
    return {"old": "yes"}


@get("/api/new")
async def new() -> dict[str, str]:
    return {"new": "yes"}


def client():
    app = Litestar([old, new])
    app.asgi_handler = versioning_middleware(app.asgi_handler)
    return TestClient(app)


def test_a_deprecated_route_says_so_and_when_it_goes():
    with client() as http:
        answer = http.get("/api/v1/old")
        assert answer.json() == {"old": "yes"}
        assert answer.headers["deprecation"] == f"@{int(SINCE.timestamp())}"
        assert answer.headers["sunset"] == "Fri, 03 Apr 2026 00:00:00 GMT"
        assert answer.headers["link"] == '</api/new>; rel="successor-version"'
        current = http.get("/api/new")
        assert "deprecation" not in current.headers and "sunset" not in current.headers
        assert current.headers["x-api-version"] == "v1.0"


def test_a_sunset_less_than_three_months_ahead_is_refused():
    with pytest.raises(ValueError, match="three months"):
        deprecated(SINCE, sunset=datetime(2026, 2, 1, tzinfo=UTC))


def test_url_versions_and_accept_versions():
    with client() as http:
        assert http.get("/api/v1/new").json() == {"new": "yes"}
        assert http.get("/api/v1.0/new").json() == {"new": "yes"}
        unknown = http.get("/api/v2/new")
        assert unknown.status_code == 404 and unknown.json()["code"] == "NOT_FOUND"
        refused = http.get("/api/new", headers={"Accept": "application/vnd.llmchat.v9+json"})
        assert refused.status_code == 406 and refused.json()["code"] == "NOT_ACCEPTABLE"
