"""Which accounts exist, as authentication asks on every request.

Accounts are never removed, so a user once seen registered stays so: after its first
request a user costs a set lookup, not a round trip. Only a user id this process has not
seen asks the event log (one index lookup); an unknown one is asked again each time, so a
user registered on another instance a moment ago is never refused.
"""

from collections.abc import Awaitable, Callable
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from infrastructure.postgres import EVENTS_TABLE

REGISTERED = (
    f"SELECT 1 FROM {EVENTS_TABLE}"
    " WHERE originator_id = %s AND originator_version = 1 AND topic = 'UserRegistered'"
)


class KnownUsers:
    def __init__(self, registered: Callable[[str], Awaitable[bool]], size: int = 100_000) -> None:
        self.registered = registered
        self.size = size
        self.known: set[str] = set()

    async def exists(self, user_id: str) -> bool:
        if user_id in self.known:
            return True
        if not await self.registered(user_id):
            return False
        if len(self.known) >= self.size:
            self.known.clear()  # crude, but bounded; a miss costs one lookup
        self.known.add(user_id)
        return True


def registered_in(pool: AsyncConnectionPool) -> Callable[[str], Awaitable[bool]]:
    async def registered(user_id: str) -> bool:
        try:
            stream = UUID(user_id)
        except ValueError:
            return False
        async with pool.connection() as conn:
            cursor = await conn.execute(REGISTERED, (stream,), prepare=True)
            return await cursor.fetchone() is not None

    return registered
