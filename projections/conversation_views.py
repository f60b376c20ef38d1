"""Queries over the conversations read model: the sessions list and a page of history."""

from typing import Any

from eventsourcing.postgres import PostgresDatastore

from application.session_queries import History
from domain.timestamps import iso_millis

# The place of the message a page ends before (NULL if it is no message of the session).
BEFORE = "(SELECT seq FROM llmchat_messages WHERE message_id = %s AND session_id = %s)"


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

    def history(self, session_id: str, page: int, limit: int, before: str | None) -> History:
        """A page of messages (newest first by page, oldest first within it) and who owns
        them, every question in one round trip."""
        bound_params: list[object]
        if before is None:
            bound, bound_params, ask = "%s", [2**62], "SELECT true AS known"
        else:  # no such message: no rows, and `known` says why
            bound, bound_params = f"COALESCE({BEFORE}, -1)", [before, session_id]
            ask = f"SELECT {BEFORE} IS NOT NULL AS known"
        with self.datastore.get_connection() as conn:
            with conn.pipeline():
                owned = conn.execute(
                    "SELECT owner_id FROM llmchat_conversations WHERE session_id = %s",
                    (session_id,),
                )
                known = conn.execute(ask, bound_params if before is not None else ())
                counted = conn.execute(
                    "SELECT count(*) AS n FROM llmchat_messages"
                    f" WHERE session_id = %s AND seq < {bound}",
                    [session_id, *bound_params],
                )
                paged = conn.execute(
                    f"SELECT * FROM llmchat_messages WHERE session_id = %s AND seq < {bound}"
                    " ORDER BY seq DESC LIMIT %s OFFSET %s",
                    [session_id, *bound_params, limit, (page - 1) * limit],
                )
            row, answer = owned.fetchone(), known.fetchone()
            owner = None if row is None else str(row["owner_id"])
            if not (answer and answer["known"]):
                return History(owner, None)
            total, rows = counted.fetchone(), paged.fetchall()
        return History(
            owner, ([message_view(r) for r in reversed(rows)], total["n"] if total else 0)
        )
