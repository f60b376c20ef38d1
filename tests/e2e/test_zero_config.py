"""With no database configured, `llmchat serve` starts an embedded PostgreSQL and keeps its data."""

import httpx
import psutil

from tests.support.builders import PASSWORD, login, register, unique_email
from tests.support.server import ServerProcess


def postgres_processes_under(path):
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "postgres" in (process.info["name"] or "") and str(path) in cmdline:
            found.append(process)
    return found


def test_serves_healthy_on_the_embedded_default_and_again_after_a_restart(tmp_path):
    env = {"LLMCHAT_DATA_DIR": str(tmp_path / "data")}
    first = ServerProcess(env)
    try:
        assert first.start(timeout=30) < 30
        with httpx.Client(base_url=first.base_url) as http:
            assert http.get("/health").json()["status"] == "healthy"
            email = unique_email()
            register(http, email)
    finally:
        first.stop()
    assert postgres_processes_under(tmp_path) == [], "the embedded server stops with the last user"

    second = ServerProcess(env)
    try:
        assert second.start(timeout=30) < 30
        with httpx.Client(base_url=second.base_url) as http:
            assert http.get("/health").json()["status"] == "healthy"
            assert login(http, email, PASSWORD)["user"]["email"] == email
    finally:
        second.stop()
