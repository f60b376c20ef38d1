"""Connection pools that come back with the database.

After a restart or an outage every idle connection in a pool is dead. psycopg_pool hands
them out as they are (each then fails the request it was given), or, with a `check`,
tries them one by one with a growing pause between (1 s, 2 s, 4 s: past any request's
patience when several are dead). These pools look at the socket instead (no round trip),
drop a dead connection at once and take the next, and try to replace a lost connection
for a short while, then leave its slot to the next request, which tries at once.
"""

import select
from typing import Any

import psycopg
from eventsourcing.postgres import ConnectionPool
from psycopg_pool import AsyncConnectionPool

# How long an attempt to connect may take.
CONNECT_TIMEOUT = 2
# How long a pool tries to replace a lost connection (psycopg_pool's default: five minutes
# of doubling waits, which leaves a pool idle long after the database is back).
RECONNECT_SECONDS = 2.0


def closed_by_server(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection is gone. An idle connection has nothing to read unless
    the server ended it (end-of-file, often after a last FATAL message)."""
    if conn.closed:
        return True
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return bool(readable)


class RecoveringPool(ConnectionPool[Any]):
    def getconn(self, timeout: float | None = None) -> Any:
        while True:
            conn = super().getconn(timeout)
            if not closed_by_server(conn):
                return conn
            conn.close()
            self.putconn(conn)  # the pool replaces it


class RecoveringAsyncPool(AsyncConnectionPool[Any]):
    async def getconn(self, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        while True:
            conn = await super().getconn(timeout)
            if not closed_by_server(conn):
                return conn
            await conn.close()
            await self.putconn(conn)


def async_pool(conninfo: str, min_size: int, max_size: int) -> RecoveringAsyncPool:
    """An autocommit pool for code on the event loop."""
    return RecoveringAsyncPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
        reconnect_timeout=RECONNECT_SECONDS,
    )
