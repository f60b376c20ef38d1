"""The revocation list: in PostgreSQL, so a logout or a deactivation takes effect on every
instance at once.

Two tables answer one question in one round trip: token and sign-in ids revoked until they
expire (`llmchat_revocations`), and per user the moment before which every token of theirs
is refused (`llmchat_sign_in_cutoffs`: 'infinity' while the user is deactivated, the
deactivation's time once reactivated). A deactivation cannot list the user's sign-ins
(nothing indexes them by user), so it refuses their tokens by issue time instead. Each
process keeps both in memory (NoticedRevocations), told of changes on one channel.
"""

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore

from infrastructure.pools import async_pool

REVOKED = (
    "SELECT 1 FROM llmchat_revocations WHERE id = ANY(%s) AND until > now()"
    " UNION ALL SELECT 1 FROM llmchat_sign_in_cutoffs"
    " WHERE user_id = %s AND issued_before > to_timestamp(%s) LIMIT 1"
)
# How llmchat_sign_in_cutoffs' trigger names a user in the revocations' channel.
CUTOFF = "cutoff:"
END_SIGN_INS = (
    "INSERT INTO llmchat_sign_in_cutoffs (user_id, issued_before, version)"
    " VALUES (%s, COALESCE(to_timestamp(%s), 'infinity'), %s)"
    " ON CONFLICT (user_id) DO UPDATE"
    " SET issued_before = EXCLUDED.issued_before, version = EXCLUDED.version"
    " WHERE llmchat_sign_in_cutoffs.version <= EXCLUDED.version"
)


class PostgresRevocations:
    def __init__(
        self,
        datastore: PostgresDatastore,
        noted: Callable[[Sequence[str], float], None] | None = None,
        noted_cutoff: Callable[[str, float], None] | None = None,
    ) -> None:
        self.datastore = datastore
        self.noted = noted
        """This process's own list, told of a revocation before its answer goes out."""
        self.noted_cutoff = noted_cutoff
        """And of a user's sign-ins ended."""

    def revoke(self, ids: Sequence[str], until: int) -> None:
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO llmchat_revocations (id, until) VALUES (%s, to_timestamp(%s))"
                " ON CONFLICT (id) DO UPDATE SET until = GREATEST("
                "llmchat_revocations.until, EXCLUDED.until)",
                [(i, until) for i in ids],
            )
        if self.noted is not None:
            self.noted(ids, until)

    def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        with self.datastore.get_connection() as conn:
            row = conn.execute(REVOKED, (list(ids), user_id, issued_at)).fetchone()
        return row is not None

    def end_sign_ins(self, user_id: str, before: float | None, version: int) -> None:
        with self.datastore.get_connection() as conn:
            written = conn.execute(END_SIGN_INS, (user_id, before, version)).rowcount
        if written and self.noted_cutoff is not None:
            self.noted_cutoff(user_id, float("inf") if before is None else before)


class AsyncPostgresRevocations:
    """The revocation check every authenticated request makes, on the event loop: a thread
    hand-off for one indexed lookup cost more than the lookup."""

    def __init__(self, conninfo: str) -> None:
        self.pool = async_pool(conninfo, min_size=1, max_size=4, name="revocations")

    async def start(self) -> None:
        await self.pool.open(wait=False)

    async def stop(self) -> None:
        await self.pool.close()

    async def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(REVOKED, (list(ids), user_id, issued_at), prepare=True)
            return await cursor.fetchone() is not None


class NoticedRevocations:
    """The revocation list in memory, for the check every authenticated request makes,
    kept current by the table's notices (infrastructure/notices.py); while it is not
    current, the database is asked as before. Times are compared with this machine's
    clock: an entry outlives its token, whose expiry the token itself carries."""

    channel = "llmchat_revocations"

    def __init__(self, database: AsyncPostgresRevocations, prune_above: int = 10_000) -> None:
        self.database = database
        self.current = False
        self.until: dict[str, float] = {}
        self.cutoffs: dict[str, float] = {}
        self.prune_above = prune_above
        self.lock = threading.Lock()

    async def load(self, conn: psycopg.AsyncConnection[Any]) -> None:
        cursor = await conn.execute(
            "SELECT id, extract(epoch FROM until)::float8 FROM llmchat_revocations"
            " WHERE until > now()"
        )
        loaded = {str(row[0]): float(row[1]) for row in await cursor.fetchall()}
        cursor = await conn.execute(
            "SELECT user_id, extract(epoch FROM issued_before)::float8 FROM llmchat_sign_in_cutoffs"
        )
        cutoffs = {str(row[0]): float(row[1]) for row in await cursor.fetchall()}
        with self.lock:
            self.until, self.cutoffs = loaded, cutoffs

    def noticed(self, payload: str) -> None:
        revoked, _, until = payload.rpartition(" ")
        if revoked.startswith(CUTOFF):
            self.note_cutoff(revoked.removeprefix(CUTOFF), float(until))
        else:
            self.note([revoked], float(until))

    def note_cutoff(self, user_id: str, before: float) -> None:
        with self.lock:
            self.cutoffs[user_id] = before

    def note(self, ids: Sequence[str], until: float) -> None:
        with self.lock:
            for i in ids:
                self.until[i] = max(self.until.get(i, 0.0), until)
            if len(self.until) > self.prune_above:
                now = time.time()
                self.until = {i: t for i, t in self.until.items() if t > now}
                self.prune_above = max(self.prune_above, 2 * len(self.until))

    async def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        if not self.current:
            return await self.database.any_revoked(ids, user_id, issued_at)
        if user_id and self.cutoffs.get(user_id, float("-inf")) > issued_at:
            return True
        now = time.time()
        until = self.until
        return any(until.get(i, 0.0) > now for i in ids)


class InMemoryRevocations:
    def __init__(self) -> None:
        self.until: dict[str, int] = {}
        self.cutoffs: dict[str, tuple[int, float]] = {}
        self.lock = threading.Lock()

    def revoke(self, ids: Sequence[str], until: int) -> None:
        with self.lock:
            for i in ids:
                self.until[i] = max(self.until.get(i, 0), until)

    def any_revoked(self, ids: Sequence[str], user_id: str = "", issued_at: int = 0) -> bool:
        now = time.time()
        if self.cutoffs.get(user_id, (0, float("-inf")))[1] > issued_at:
            return True
        return any(self.until.get(i, 0) > now for i in ids)

    def end_sign_ins(self, user_id: str, before: float | None, version: int) -> None:
        with self.lock:
            if self.cutoffs.get(user_id, (0, 0.0))[0] <= version:
                self.cutoffs[user_id] = (version, float("inf") if before is None else before)
