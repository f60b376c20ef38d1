"""Queries over the users read model (projections/users.py): pages for GET /api/admin/users,
and the administrators the last-admin guard starts from."""

from typing import Any

from eventsourcing.postgres import PostgresDatastore

from application.user_list import UserQuery
from domain.timestamps import iso_millis
from projections.projection import where_all


def conditions(query: UserQuery) -> tuple[str, list[Any]]:
    return where_all(
        [
            ("role = %s", query.role),
            ("status = %s", query.status),
            # strpos, not LIKE: `%` and `_` in the query are characters of an address.
            ("strpos(email, %s) > 0", query.email),
        ]
    )


def user_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["user_id"]),
        "email": row["email"],
        "name": row["name"],
        "role": row["role"],
        "status": row["status"],
        "createdAt": iso_millis(row["created_at"]),
    }


class UserViews:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def page(self, query: UserQuery) -> tuple[list[dict[str, Any]], int]:
        where, params = conditions(query)
        offset = (query.page - 1) * query.limit
        with self.datastore.get_connection() as conn:
            counted = conn.execute(
                f"SELECT count(*) AS n FROM llmchat_users{where}", params
            ).fetchone()
            rows = conn.execute(
                "SELECT user_id, email, name, role, status, created_at"
                f" FROM llmchat_users{where}"
                " ORDER BY created_at DESC, user_id LIMIT %s OFFSET %s",
                [*params, query.limit, offset],
            ).fetchall()
        return [user_view(row) for row in rows], int(counted["n"]) if counted else 0

    def active_admins(self) -> list[str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT user_id FROM llmchat_users WHERE role = 'admin' AND status = 'active'"
            ).fetchall()
        return [str(row["user_id"]) for row in rows]
