"""Queries over the usage ledger (projections/usage.py): GET /api/admin/usage and /api/usage."""

from typing import Any

from eventsourcing.postgres import PostgresDatastore

from application.usage_report import UsageQuery

KEYS = {
    "user": "user_id",
    "apiKey": "api_key_id",
    "agent": "agent_id",
    "model": "model",
    "day": "to_char(day, 'YYYY-MM-DD')",
}
SUMS = """sum(requests) AS requests, sum(prompt_tokens) AS prompt_tokens,
    sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens,
    sum(cost) AS cost, sum(estimated_requests) > 0 AS estimated"""


def row_of(row: dict[str, Any]) -> dict[str, Any]:
    prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
    return {
        "key": str(row["key"]),
        "requests": int(row["requests"]),
        "promptTokens": prompt,
        "completionTokens": completion,
        "cachedTokens": int(row["cached_tokens"]),
        "totalTokens": prompt + completion,
        "cost": float(row["cost"]),
        "estimated": bool(row["estimated"]),
    }


class UsageViews:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def page(self, query: UsageQuery) -> tuple[list[dict[str, Any]], int]:
        key = KEYS[query.group_by]
        where, params = conditions(query)
        grouped = f"FROM llmchat_usage_daily WHERE {where} GROUP BY 1"
        offset = (query.page - 1) * query.limit
        with self.datastore.get_connection() as conn:
            counted = conn.execute(
                f"SELECT count(*) AS total FROM (SELECT {key} {grouped}) AS groups", params
            ).fetchone()
            rows = conn.execute(
                f"SELECT {key} AS key, {SUMS} {grouped} ORDER BY 1 LIMIT %(limit)s"
                " OFFSET %(offset)s",
                {**params, "limit": query.limit, "offset": offset},
            ).fetchall()
        total = int(counted["total"]) if counted else 0
        return [row_of(row) for row in rows], total


def conditions(query: UsageQuery) -> tuple[str, dict[str, Any]]:
    where: list[str] = ["true"]
    params: dict[str, Any] = {}
    if query.group_by == "apiKey":
        where.append("api_key_id <> ''")  # replies asked with a key
    if query.first_day is not None:
        where.append("day >= %(first)s")
        params["first"] = query.first_day
    if query.last_day is not None:
        where.append("day <= %(last)s")
        params["last"] = query.last_day
    if query.user_id is not None:
        where.append("user_id = %(user)s")
        params["user"] = query.user_id
    return " AND ".join(where), params
