"""The sign-in throttle holds under concurrent guesses, on a real server with real Redis."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.builders import register, unique_email
from tests.support.server import running


@pytest.fixture(scope="module")
def throttled(server_env, redis_namespace):
    # Counters of its own (a fresh namespace), and an address per test (X-Forwarded-For
    # from a trusted proxy), so no other test's sign-ins count here, nor these there.
    env = {
        **server_env,
        "LLMCHAT_REDIS_NAMESPACE": f"{redis_namespace}:throttle-{uuid.uuid4().hex[:6]}",
        "LLMCHAT_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    with running(env) as process:
        yield process


def guesses(server, bodies, address):
    """Every guess in a thread of its own, on one client's pool of connections."""
    headers = {"X-Forwarded-For": address}
    client = httpx.Client(base_url=server.base_url, timeout=60)
    with client as http, ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(
            pool.map(lambda body: http.post("/api/auth/login", json=body, headers=headers), bodies)
        )
    return Counter(answer.status_code for answer in answers)


def test_20_concurrent_wrong_guesses_for_one_account_check_at_most_5(throttled):
    email = unique_email()
    with httpx.Client(base_url=throttled.base_url, timeout=30) as http:
        register(http, email)
    codes = guesses(
        throttled, [{"email": email, "password": "wrong-password"}] * 20, "198.51.100.7"
    )
    assert codes[401] <= 5, codes
    assert codes[401] + codes[429] == 20, codes


def test_60_concurrent_guesses_from_one_address_check_at_most_30(throttled):
    bodies = [{"email": unique_email(), "password": "wrong-password"} for _ in range(60)]
    codes = guesses(throttled, bodies, "198.51.100.8")
    assert codes[401] <= 30, codes
    assert codes[401] + codes[429] == 60, codes
