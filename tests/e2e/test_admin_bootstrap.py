"""The admin bootstrap never hands the administrator role to an account someone else made."""

import httpx

from tests.support.builders import login, register
from tests.support.server import ServerProcess, free_port, run_cli

OPERATOR_PASSWORD = "operator-password-1"
SQUATTER_PASSWORD = "squatter-password-1"


def test_a_squatted_admin_address_stops_the_start_until_the_operator_promotes_it(
    server_env, make_database
):
    email = "boss-squatted@example.com"
    plain = {
        **server_env,
        "LLMCHAT_DATABASE_URL": make_database("bootstrap"),
        "LLMCHAT_ADMIN_EMAIL": None,
        "LLMCHAT_ADMIN_PASSWORD": None,
    }
    before = ServerProcess(plain)
    before.start()
    try:
        with httpx.Client(base_url=before.base_url, timeout=30) as http:
            register(http, email, SQUATTER_PASSWORD)
    finally:
        before.stop()

    admin = {"LLMCHAT_ADMIN_EMAIL": email, "LLMCHAT_ADMIN_PASSWORD": OPERATOR_PASSWORD}
    configured = {**plain, **admin}
    refused = run_cli(["serve", "--no-workers", "--port", str(free_port())], configured)
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "LLMCHAT_ADMIN_EMAIL" in lines[0] and f"llmchat admin promote {email}" in lines[0]

    promoted = run_cli(["admin", "promote", email], plain)
    assert promoted.returncode == 0, promoted.stderr
    assert run_cli(["admin", "promote", "nobody@example.com"], plain).returncode == 1

    after = ServerProcess(configured)
    after.start()
    try:
        with httpx.Client(base_url=after.base_url, timeout=30) as http:
            # The account keeps its own password: the operator vouched for it as it is.
            assert login(http, email, SQUATTER_PASSWORD)["user"]["role"] == "admin"
            wrong = {"email": email, "password": OPERATOR_PASSWORD}
            assert http.post("/api/auth/login", json=wrong).status_code == 401
    finally:
        after.stop()
