"""Queries over the conversations read model: the sessions list and a page of history."""

from typing import Any

from eventsourcing.postgres import PostgresDatastore

from infrastructure.event_store import iso_millis


def session_view(row: dict[str, Any]) -> dict[str, Any]:
    last = row["last_message_at"]
    return {
        "id": str(row["session_id"]),
        "title": row["title"],
        "agentId": row["agent_id"],
        "messageCount": row["message_count"],
        "lastMessageAt": iso_millis(last) if last else None,
        "createdAt": iso_millis(row["created_at"]),
    }


def message_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {
        "id": str(row["message_id"]),
        "role": row["role"],
        "content": row["content"],
        "createdAt": iso_millis(row["created_at"]),
    }
    if row["role"] == "assistant" and row["status"]:
        view["status"] = row["status"]
    return view


class ConversationViews:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def sessions(self, owner_id: str, page: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT *, count(*) OVER () AS total FROM llmchat_conversations"
                " WHERE owner_id = %s"
                " ORDER BY last_message_at DESC NULLS LAST, created_at DESC, session_id"
                " LIMIT %s OFFSET %s",
                (owner_id, limit, (page - 1) * limit),
            ).fetchall()
            total = rows[0]["total"] if rows else self.count_sessions(owner_id)
        return [session_view(r) for r in rows], int(total)

    def count_sessions(self, owner_id: str) -> int:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM llmchat_conversations WHERE owner_id = %s", (owner_id,)
            ).fetchone()
        return int(row["n"]) if row else 0

    def owner(self, session_id: str) -> str | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT owner_id FROM llmchat_conversations WHERE session_id = %s", (session_id,)
            ).fetchone()
        return None if row is None else str(row["owner_id"])

    def history(
        self, session_id: str, page: int, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], int] | None:
        """Newest messages first by page, oldest first within it; None if `before` is unknown."""
        with self.datastore.get_connection() as conn:
            bound = 2**62
            if before is not None:
                row = conn.execute(
                    "SELECT seq FROM llmchat_messages WHERE message_id = %s AND session_id = %s",
                    (before, session_id),
                ).fetchone()
                if row is None:
                    return None
                bound = row["seq"]
            with conn.pipeline():  # both questions in one round trip
                counted = conn.execute(
                    "SELECT count(*) AS n FROM llmchat_messages"
                    " WHERE session_id = %s AND seq < %s",
                    (session_id, bound),
                )
                paged = conn.execute(
                    "SELECT * FROM llmchat_messages WHERE session_id = %s AND seq < %s"
                    " ORDER BY seq DESC LIMIT %s OFFSET %s",
                    (session_id, bound, limit, (page - 1) * limit),
                )
            total, rows = counted.fetchone(), paged.fetchall()
        return [message_view(r) for r in reversed(rows)], int(total["n"]) if total else 0
