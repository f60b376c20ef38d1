"""What a budget's subject spent, as the usage ledger (projections/usage.py) holds it: the
truth the budget counters are rebuilt from.

A user's spending is its rows as a user (an API key's rows carry the key's id as the user
too); a key's, the rows asked with it; a role's, the rows of the users who hold it now
(llmchat_stats_users) and of its API keys. Replies the ledger has not projected yet (its
lag, milliseconds) are not in it.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from eventsourcing.postgres import PostgresDatastore

SUMS = (
    "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens,"
    " coalesce(sum(cost), 0) AS cost FROM llmchat_usage_daily"
    " WHERE day BETWEEN %(first)s AND %(last)s AND "
)
WHOSE = {
    "user": "user_id = %(id)s",
    "apiKey": "api_key_id = %(id)s",
    "role": "(user_id IN (SELECT user_id::text FROM llmchat_stats_users WHERE role = %(id)s)"
    " OR user_id = ANY(%(keys)s))",
}


class LedgerSpending:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def spent(
        self,
        scope: str,
        subject_id: str,
        first_day: date,
        last_day: date,
        role_keys: Sequence[str] = (),
    ) -> tuple[int, Decimal]:
        params = {"first": first_day, "last": last_day, "id": subject_id, "keys": list(role_keys)}
        with self.datastore.get_connection() as conn:
            row = conn.execute(SUMS + WHOSE[scope], params).fetchone()
        if row is None:
            return 0, Decimal(0)
        return int(row["tokens"]), Decimal(row["cost"])
