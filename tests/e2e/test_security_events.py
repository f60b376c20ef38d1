"""Refusals are security events: allow-list 403s and refused writes reach the audit trail,
once per (address, path, status) a minute, however many arrive."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.builders import register, signed_in, unique_email
from tests.support.event_log import stored_events
from tests.support.server import ServerProcess

STRANGER = "192.0.2.7"


def recorded_once(find: Callable[[], list[dict[str, Any]]]) -> dict[str, Any]:
    """The one event `find` sees once recording settles (it runs off the event loop)."""
    deadline = time.monotonic() + 10
    while not find() and time.monotonic() < deadline:
        time.sleep(0.1)
    found = find()
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def guarded(server_env):
    process = ServerProcess(
        {
            **server_env,
            "LLMCHAT_DB_POOL_SIZE": "4",
            "LLMCHAT_TRUSTED_PROXIES": "127.0.0.1/32",
            "LLMCHAT_ALLOW_CIDRS": "127.0.0.1/32",
        }
    )
    process.start()
    yield process
    process.stop()


def test_an_allow_list_refusal_is_recorded_once_however_often_it_comes(guarded, server_env):
    path = f"/api/agents/{uuid.uuid4()}"  # refused nowhere else
    with httpx.Client(base_url=guarded.base_url, timeout=30) as client:
        for _ in range(5):
            refused = client.get(path, headers={"X-Forwarded-For": STRANGER})
            assert refused.status_code == 403
    database = server_env["LLMCHAT_DATABASE_URL"]
    event = recorded_once(
        lambda: [e for e in stored_events(database, "AccessDenied") if e["path"] == path]
    )
    assert (event["ip"], event["status"], event["method"]) == (STRANGER, 403, "GET")


def test_a_refused_write_is_recorded_and_a_refused_read_is_not(http, server_env):
    _, auth = signed_in(http)
    database = server_env["LLMCHAT_DATABASE_URL"]
    missing = str(uuid.uuid4())
    path = f"/api/chat/streams/{missing}/cancel"
    for _ in range(5):
        assert http.post(path, headers=auth).status_code == 404
    assert http.get(f"/api/chat/sessions/{missing}/history", headers=auth).status_code == 404

    event = recorded_once(
        lambda: [e for e in stored_events(database, "CommandRefused") if missing in e["path"]]
    )
    assert (event["path"], event["status"], event["method"]) == (path, 404, "POST")
    assert event["user_id"] and event["ip"] == "127.0.0.1"


def test_a_taken_e_mail_is_a_refused_command(http, server_env):
    email = unique_email("taken")
    register(http, email)
    again = http.post(
        "/api/auth/register", json={"email": email, "password": "pass-word-123", "name": "Again"}
    )
    assert again.status_code == 409
    database = server_env["LLMCHAT_DATABASE_URL"]
    refused = [e for e in stored_events(database, "CommandRefused") if e["status"] == 409]
    deadline = time.monotonic() + 10
    while not refused and time.monotonic() < deadline:
        time.sleep(0.1)
        refused = [e for e in stored_events(database, "CommandRefused") if e["status"] == 409]
    assert refused and refused[0]["path"] == "/api/auth/register"
    assert email not in str(refused), "the audit entry does not repeat what was sent"
