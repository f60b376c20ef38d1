"""Queries over the stats read model: the usage figures of GET /api/admin/stats."""

from datetime import datetime

from eventsourcing.postgres import PostgresDatastore

from application.admin_stats import UsageFigures

USAGE = """SELECT
    (SELECT count(*) FROM llmchat_stats_users) AS users_total,
    (SELECT count(*) FROM llmchat_stats_users WHERE last_active_at >= %(active_since)s)
        AS users_active,
    (SELECT count(*) FROM llmchat_stats_users WHERE registered_at >= %(today)s)
        AS users_new_today,
    (SELECT count(*) FROM llmchat_stats_conversations) AS chats_total,
    (SELECT count(*) FROM llmchat_stats_conversations WHERE started_at >= %(today)s)
        AS chats_today,
    (SELECT COALESCE(avg(message_count), 0) FROM llmchat_stats_conversations)
        AS average_length,
    ledger.*,
    ledger_today.*
    FROM (SELECT COALESCE(sum(requests), 0) AS usage_requests,
            COALESCE(sum(prompt_tokens), 0) AS usage_prompt,
            COALESCE(sum(completion_tokens), 0) AS usage_completion,
            COALESCE(sum(cached_tokens), 0) AS usage_cached,
            COALESCE(sum(cost), 0) AS usage_cost
        FROM llmchat_usage_daily) AS ledger,
    (SELECT COALESCE(sum(requests), 0) AS today_requests,
            COALESCE(sum(prompt_tokens + completion_tokens), 0) AS today_tokens,
            COALESCE(sum(cost), 0) AS today_cost
        FROM llmchat_usage_daily WHERE day >= %(today)s::date) AS ledger_today"""


class StatsViews:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def usage(self, today: datetime, active_since: datetime) -> UsageFigures:
        with self.datastore.get_connection() as conn:
            row = conn.execute(USAGE, {"today": today, "active_since": active_since}).fetchone()
        assert row is not None
        return UsageFigures(
            users_total=int(row["users_total"]),
            users_active=int(row["users_active"]),
            users_new_today=int(row["users_new_today"]),
            chats_total=int(row["chats_total"]),
            chats_today=int(row["chats_today"]),
            average_length=float(row["average_length"]),
            usage_requests=int(row["usage_requests"]),
            usage_prompt_tokens=int(row["usage_prompt"]),
            usage_completion_tokens=int(row["usage_completion"]),
            usage_cached_tokens=int(row["usage_cached"]),
            usage_cost=float(row["usage_cost"]),
            today_requests=int(row["today_requests"]),
            today_tokens=int(row["today_tokens"]),
            today_cost=float(row["today_cost"]),
        )
