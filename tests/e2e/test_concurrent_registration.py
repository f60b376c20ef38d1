"""One e-mail registered at the same moment, on one or two server processes: one wins."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.builders import PASSWORD, unique_email
from tests.support.server import ServerProcess


def race(base_urls: list[str], email: str) -> list[int]:
    barrier = threading.Barrier(len(base_urls))
    body = {"email": email, "password": PASSWORD, "name": "Racer"}

    def attempt(base_url: str) -> int:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            client.get("/health")  # connect before the barrier, so only the POSTs race
            barrier.wait()
            return client.post("/api/auth/register", json=body).status_code

    with ThreadPoolExecutor(len(base_urls)) as pool:
        return sorted(pool.map(attempt, base_urls))


@pytest.fixture(scope="module")
def second_server(server_env):
    process = ServerProcess(server_env)
    process.start()
    yield process
    process.stop()


def test_simultaneous_registrations_on_two_processes_give_one_success_one_conflict(
    server, second_server
):
    for _ in range(5):
        assert race([server.base_url, second_server.base_url], unique_email()) == [200, 409]


def test_many_simultaneous_registrations_on_one_process_give_exactly_one_success(server):
    codes = race([server.base_url] * 8, unique_email())
    assert codes == [200] + [409] * 7
