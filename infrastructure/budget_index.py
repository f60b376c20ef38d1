"""Which budget streams exist, in memory, kept current by their table's notices.

`llmchat_budget_streams` (kept by the event table's trigger, infrastructure/postgres.py)
lists every stream that ever had a BudgetSet; a stream stays listed once removed (the gate
reads it and finds it removed). See infrastructure/notices.py for when the view is current.
"""

from collections.abc import Sequence
from typing import Any

import psycopg


class NoticedBudgets:
    channel = "llmchat_budgets"

    def __init__(self) -> None:
        self.current = False
        self.streams: set[str] = set()

    async def load(self, conn: psycopg.AsyncConnection[Any]) -> None:
        cursor = await conn.execute("SELECT stream_id::text FROM llmchat_budget_streams")
        self.streams = {str(row[0]) for row in await cursor.fetchall()}

    def noticed(self, payload: str) -> None:
        self.streams.add(payload)

    def note(self, stream_id: str) -> None:
        self.streams.add(stream_id)

    def none_of(self, stream_ids: Sequence[str]) -> bool:
        return self.current and not any(stream_id in self.streams for stream_id in stream_ids)
