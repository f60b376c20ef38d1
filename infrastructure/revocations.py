"""The revocation list: in PostgreSQL, so a logout takes effect on every instance at once."""

import threading
import time
from collections.abc import Sequence

from eventsourcing.postgres import PostgresDatastore

from infrastructure.pools import async_pool

REVOKED = "SELECT 1 FROM llmchat_revocations WHERE id = ANY(%s) AND until > now() LIMIT 1"


class PostgresRevocations:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def revoke(self, ids: Sequence[str], until: int) -> None:
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO llmchat_revocations (id, until) VALUES (%s, to_timestamp(%s))"
                " ON CONFLICT (id) DO UPDATE SET until = GREATEST("
                "llmchat_revocations.until, EXCLUDED.until)",
                [(i, until) for i in ids],
            )

    def any_revoked(self, ids: Sequence[str]) -> bool:
        with self.datastore.get_connection() as conn:
            row = conn.execute(REVOKED, (list(ids),)).fetchone()
        return row is not None


class AsyncPostgresRevocations:
    """The revocation check every authenticated request makes, on the event loop: a thread
    hand-off for one indexed lookup cost more than the lookup."""

    def __init__(self, conninfo: str) -> None:
        self.pool = async_pool(conninfo, min_size=1, max_size=4, name="revocations")

    async def start(self) -> None:
        await self.pool.open(wait=False)

    async def stop(self) -> None:
        await self.pool.close()

    async def any_revoked(self, ids: Sequence[str]) -> bool:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(REVOKED, (list(ids),), prepare=True)
            return await cursor.fetchone() is not None


class InMemoryRevocations:
    def __init__(self) -> None:
        self.until: dict[str, int] = {}
        self.lock = threading.Lock()

    def revoke(self, ids: Sequence[str], until: int) -> None:
        with self.lock:
            for i in ids:
                self.until[i] = max(self.until.get(i, 0), until)

    def any_revoked(self, ids: Sequence[str]) -> bool:
        now = time.time()
        return any(self.until.get(i, 0) > now for i in ids)
