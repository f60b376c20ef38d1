"""IP allow-lists and trusted proxies, on servers of their own."""

import uuid

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.event_log import stored_events
from tests.support.server import ServerProcess

OFFICE = "10.1.2.3"  # in the admin allow-list
BRANCH = "10.2.3.4"  # allowed, but not for admin routes
STRANGER = "192.0.2.1"  # not allowed at all


def serve(server_env, **settings):
    env = {**server_env, "LLMCHAT_DB_POOL_SIZE": "4", **settings}
    process = ServerProcess(env)
    process.start()
    return process


@pytest.fixture(scope="module")
def behind_proxy(server_env):
    # The tests play the proxy: loopback is trusted to say who the client is.
    process = serve(
        server_env,
        LLMCHAT_TRUSTED_PROXIES="127.0.0.1/32",
        LLMCHAT_ALLOW_CIDRS="127.0.0.1/32, 10.0.0.0/8",
        LLMCHAT_ADMIN_ALLOW_CIDRS="10.1.0.0/16",
    )
    yield process
    process.stop()


def from_address(address, token=None):
    headers = {"X-Forwarded-For": address}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def admin_token(client):
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    answer = client.post("/api/auth/login", json=body, headers=from_address(BRANCH))
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["token"]


def test_addresses_outside_the_allow_list_are_refused_everywhere(behind_proxy):
    with httpx.Client(base_url=behind_proxy.base_url) as client:
        for path in ("/health", "/api/agents", "/api/auth/login", "/nowhere"):
            refused = client.get(path, headers=from_address(STRANGER))
            assert refused.status_code == 403, path
            assert refused.json()["code"] == "FORBIDDEN"
        assert client.get("/health", headers=from_address(BRANCH)).status_code == 200


def test_admin_routes_answer_only_the_admin_networks(behind_proxy):
    with httpx.Client(base_url=behind_proxy.base_url) as client:
        token = admin_token(client)
        admin_routes = [
            ("GET", "/api/admin/api-keys"),
            ("GET", "/api/v1/admin/api-keys"),
            ("GET", "/metrics"),
            ("PUT", "/api/agents/demo"),
            ("POST", "/api/agents/reload"),
        ]
        for method, path in admin_routes:
            refused = client.request(method, path, headers=from_address(BRANCH, token))
            assert refused.status_code == 403, (method, path)
            assert refused.json()["code"] == "FORBIDDEN"
        for path in ("/api/admin/api-keys", "/metrics"):
            assert client.get(path, headers=from_address(OFFICE, token)).status_code == 200
        # An address the client wrote itself, left of the one the proxy saw, is not believed.
        spoofed = from_address(f"{OFFICE}, {BRANCH}", token)
        assert client.get("/api/admin/api-keys", headers=spoofed).status_code == 403


def test_audit_entries_name_the_client_the_proxy_saw(behind_proxy, server_env):
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=behind_proxy.base_url) as client:
        body = {"email": email, "password": "wrong-password-1"}
        answer = client.post("/api/auth/login", json=body, headers=from_address("10.9.9.9"))
        assert answer.status_code == 401
    failures = stored_events(server_env["LLMCHAT_DATABASE_URL"], "SignInFailed")
    assert [f["ip"] for f in failures if f["email"] == email] == ["10.9.9.9"]


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(server_env):
    process = serve(server_env, LLMCHAT_ADMIN_ALLOW_CIDRS="10.1.0.0/16")
    try:
        with httpx.Client(base_url=process.base_url) as client:
            token = admin_token(client)
            claimed = client.get("/api/admin/api-keys", headers=from_address(OFFICE, token))
            assert claimed.status_code == 403  # the peer is 127.0.0.1, whatever it claims
            assert client.get("/api/agents", headers=from_address(OFFICE, token)).status_code == 200
    finally:
        process.stop()
