"""Waiting for a connection: the turn comes while the database is up; a pool that stays
full says the server is busy, and a database that is away is said to be within seconds."""

import os
import resource
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from api.envelope import on_failure as on_unexpected
from infrastructure.pools import DOWN_WAIT, PoolBusy, RecoveringPool, closed_by_server
from tests.conftest import PG_ADMIN_URL
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxy():
    parts = urlsplit(PG_ADMIN_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    yield proxy
    proxy.close()


def one_connection_pool(proxy: TcpProxy, wait: float) -> RecoveringPool:
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
    pool = RecoveringPool(
        url, min_size=1, max_size=1, open=False, timeout=wait, reconnect_timeout=1
    )
    pool.open(wait=True)
    return pool


def test_a_request_waits_past_the_down_wait_for_a_busy_connection_then_hears_busy(proxy):
    pool = one_connection_pool(proxy, wait=DOWN_WAIT * 2)
    try:
        with pool.connection():
            started = time.monotonic()
            with pytest.raises(PoolBusy):
                pool.getconn()
            waited = time.monotonic() - started
        assert waited >= DOWN_WAIT * 2 - 0.1, "the database is up: the request waits its turn"
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()


def test_a_database_that_is_away_is_said_within_the_down_wait(proxy):
    pool = one_connection_pool(proxy, wait=30)
    try:
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(PoolTimeout) as raised, pool.connection() as conn:
            conn.execute("SELECT 1")
        assert not isinstance(raised.value, PoolBusy)
        assert time.monotonic() - started < DOWN_WAIT * 3
        proxy.restore()
        deadline = time.monotonic() + 10
        while True:
            try:
                with pool.connection() as conn:
                    conn.execute("SELECT 1")
                break
            except PoolTimeout:
                assert time.monotonic() < deadline, "the pool comes back with the database"
    finally:
        pool.close()


def test_busy_is_answered_as_busy_not_as_the_database_down():
    request: Any = SimpleNamespace(scope={})
    answer = on_unexpected(request, PoolBusy("every connection of datastore stayed in use"))
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.content["code"] == "SERVICE_UNAVAILABLE"
    assert answer.content["message"] == "Server busy"
    down = on_unexpected(request, PoolTimeout("couldn't get a connection after 2.00 sec"))
    assert down.content["message"] == "Database unavailable"


def test_a_connection_on_a_descriptor_above_1023_is_checked_too():
    # A server holding a thousand open streams hands its database connections descriptors
    # above 1023, which select() refuses ("filedescriptor out of range"): every checkout failed.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with psycopg.connect(PG_ADMIN_URL) as conn:
            assert conn.fileno() > 1023
            assert not closed_by_server(conn)
    finally:
        for descriptor in fillers:
            os.close(descriptor)
