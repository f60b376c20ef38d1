"""Local views of small write-side tables, kept current by PostgreSQL's LISTEN/NOTIFY.

A question every request asks (is this token revoked? has this caller a budget?) costs a
round trip when it is put to the database, and the answer changes a few times a day. Each
process keeps the answer in memory instead: one connection listens on every view's channel,
a trigger on the table notifies each change, and a view is loaded whole once its channel
is listened to, so no change between the load and the first notice is missed.

A view is current only while that connection is up: when it drops, every view says so and
its callers ask the database, as before, until the connection is back and the views are
loaded again. A change made on another instance reaches a view when PostgreSQL delivers
the notice, a millisecond or so after its commit; the process that makes a change notes it
in its own view before answering.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from infrastructure.pools import CONNECT_TIMEOUT

log = logging.getLogger("llmchat.notices")

# How often an idle listening connection is asked whether it is still there: a connection
# that died without a word (a network partition) would leave its views current and stale.
PROBE_SECONDS = 5.0
# How long after losing the connection it is tried again (the views are not current meanwhile).
RECONNECT_SECONDS = 0.5
# What an operator sees in pg_stat_activity for this connection.
APPLICATION_NAME = "llmchat-notices"


class NoticedView(Protocol):
    channel: str
    current: bool

    async def load(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Read the whole table (after LISTEN, so nothing noticed since is missed)."""

    def noticed(self, payload: str) -> None:
        """One change, as the table's trigger described it."""


class NoticeListener:
    def __init__(self, conninfo: str, views: Sequence[NoticedView]) -> None:
        self.conninfo = conninfo
        self.views = {view.channel: view for view in views}
        self.task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        """Set while every view is loaded and current (tests wait on it)."""
        self.away = False
        """Whether the last try to listen failed (and the log said so)."""

    async def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.lost()

    async def run(self) -> None:
        while True:
            try:
                await self.listen()
            except (psycopg.Error, OSError) as error:
                if not self.away:  # said once per outage, not at every try
                    log.warning("notices: not listening (%s); asking the database meanwhile", error)
                self.away = True
            finally:
                self.lost()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=APPLICATION_NAME,
        )
        async with conn:
            for channel in self.views:
                await conn.execute(f"LISTEN {channel}")
            for view in self.views.values():
                await view.load(conn)
                view.current = True
            self.listening.set()
            if self.away:
                log.warning("notices: listening again; the views are loaded and current")
                self.away = False
            while True:
                async for notice in conn.notifies(timeout=PROBE_SECONDS):
                    noticed = self.views.get(notice.channel)
                    if noticed is not None:
                        noticed.noticed(notice.payload)
                await conn.execute("SELECT 1")

    def lost(self) -> None:
        self.listening.clear()
        for view in self.views.values():
            view.current = False
