"""Security headers on every answer (JSON, errors, streams), and CORS from a setting."""

import httpx

from tests.support.server import ServerProcess

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_secured(answer):
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, (answer.request.url, name)
    assert "default-src 'none'" in answer.headers["content-security-policy"]


def test_every_kind_of_answer_carries_the_headers(http):
    assert_secured(http.get("/health"))
    assert_secured(http.get("/api/agents"))  # 401
    assert_secured(http.get("/no/such/route"))  # 404 before any route
    assert_secured(http.post("/api/auth/login", json={"email": "x"}))  # 400


def test_cors_allows_only_the_configured_origins(server_env):
    env = {**server_env, "LLMCHAT_CORS_ORIGINS": "https://app.example.com"}
    env["LLMCHAT_DB_POOL_SIZE"] = "4"
    process = ServerProcess(env)
    process.start()
    try:
        with httpx.Client(base_url=process.base_url) as client:
            preflight = {
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            }
            allowed = client.options("/api/auth/login", headers=preflight)
            assert allowed.status_code in (200, 204)
            assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
            simple = client.get("/health", headers={"Origin": "https://app.example.com"})
            exposed = simple.headers["access-control-expose-headers"].lower()
            assert "x-ratelimit-remaining" in exposed and "x-request-id" in exposed
            other = client.get("/health", headers={"Origin": "https://evil.example.net"})
            assert "access-control-allow-origin" not in other.headers
    finally:
        process.stop()
