"""Connection pools that come back with the database.

After a restart or an outage every idle connection in a pool is dead. psycopg_pool hands
them out as they are (each then fails the request it was given), or, with a `check`,
tries them one by one with a growing pause between (1 s, 2 s, 4 s: past any request's
patience when several are dead). These pools look at the socket instead (no round trip),
drop a dead connection at once and take the next, and try to replace a lost connection
for a short while, then leave its slot to the next request, which tries at once.

Waiting for a connection, two cases part: while the last attempt to connect failed, the
database is away and a request hears so within DOWN_WAIT seconds (as before); while it
answers, every connection is in use and a request waits its turn up to BUSY_WAIT seconds,
then hears the server is busy (PoolBusy), not that the database is down.
"""

import select
import time
from typing import Any

import psycopg
from eventsourcing.postgres import ConnectionPool
from psycopg_pool import AsyncConnectionPool, PoolTimeout

# How long an attempt to connect may take.
CONNECT_TIMEOUT = 2
# How long a pool tries to replace a lost connection (psycopg_pool's default: five minutes
# of doubling waits, which leaves a pool idle long after the database is back).
RECONNECT_SECONDS = 2.0
# A request learns the database is away within about this long...
DOWN_WAIT = 2.0
# ...and, while it is up, waits this long for its turn at a connection.
BUSY_WAIT = 20.0


class PoolBusy(Exception):
    """Every connection stayed in use: the server is saturated, the database is up. Not a
    PoolTimeout (a psycopg OperationalError): nothing may take it for the database down,
    nor retry it as a blip."""


class Turn:
    """A request's wait for a connection: in slices of DOWN_WAIT, going on after one ran
    out only while the database answered the pool's last attempt to connect."""

    def __init__(self, budget: float | None) -> None:
        self.until = time.monotonic() + (BUSY_WAIT if budget is None else budget)

    def next_slice(self) -> float:
        return max(0.01, min(DOWN_WAIT, self.until - time.monotonic()))

    def waits_on(self, reachable: bool, pool: str) -> bool:
        """After a slice ran out: True to wait on; False when the database is away (the
        caller re-raises its timeout); PoolBusy once the budget is spent."""
        if not reachable:
            return False
        if time.monotonic() >= self.until:
            raise PoolBusy(f"every connection of {pool} stayed in use") from None
        return True


def closed_by_server(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection is gone. An idle connection has nothing to read unless
    the server ended it (end-of-file, often after a last FATAL message)."""
    if conn.closed:
        return True
    # poll, not select: select() refuses a descriptor above 1023, which a server holding a
    # thousand open streams hands out to its database connections.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class RecoveringPool(ConnectionPool[Any]):
    reachable = True
    """Whether the last attempt to connect succeeded."""

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            conn = super()._connect(timeout)
        except Exception:
            self.reachable = False
            raise
        self.reachable = True
        return conn

    def getconn(self, timeout: float | None = None) -> Any:
        turn = Turn(timeout)
        while True:
            try:
                conn = super().getconn(turn.next_slice())
            except PoolTimeout:
                if turn.waits_on(self.reachable, self.name):
                    continue
                raise
            if not closed_by_server(conn):
                return conn
            conn.close()
            self.putconn(conn)  # the pool replaces it


class RecoveringAsyncPool(AsyncConnectionPool[Any]):
    reachable = True
    """Whether the last attempt to connect succeeded."""

    async def _connect(self, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        try:
            conn = await super()._connect(timeout)
        except Exception:
            self.reachable = False
            raise
        self.reachable = True
        return conn

    async def getconn(self, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        turn = Turn(timeout)
        while True:
            try:
                conn = await super().getconn(turn.next_slice())
            except PoolTimeout:
                if turn.waits_on(self.reachable, self.name):
                    continue
                raise
            if not closed_by_server(conn):
                return conn
            await conn.close()
            await self.putconn(conn)


def async_pool(conninfo: str, min_size: int, max_size: int, name: str) -> RecoveringAsyncPool:
    """An autocommit pool for code on the event loop."""
    return RecoveringAsyncPool(
        conninfo,
        name=name,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
        timeout=BUSY_WAIT,
        reconnect_timeout=RECONNECT_SECONDS,
    )
