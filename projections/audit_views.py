"""Queries over the audit trail: pages for GET /api/admin/audit, and the chain for verify."""

from typing import Any

from eventsourcing.postgres import PostgresDatastore

from application.audit_log import AuditQuery
from projections.audit import COLUMNS, chain_from_rows, entry_from_row
from projections.audit_chain import GENESIS, Verdict, canonical_view, verify


def entry_view(row: dict[str, Any]) -> dict[str, Any]:
    view = canonical_view(entry_from_row(row))
    view["id"] = str(view["id"])
    view["hash"] = row["hash"]
    return view


def conditions(query: AuditQuery) -> tuple[str, list[Any]]:
    where, params = [], []
    for clause, value in (
        ("user_id = %s", query.user_id),
        ("action = %s", query.action),
        ("at >= %s", query.start),
        ("at < %s", query.end),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(where) if where else ""), params


class AuditViews:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def page(self, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        where, params = conditions(query)
        offset = (query.page - 1) * query.limit
        with self.datastore.get_connection() as conn:
            total = conn.execute(f"SELECT count(*) AS n FROM llmchat_audit{where}", params)
            counted = total.fetchone()
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM llmchat_audit{where}"
                " ORDER BY position DESC LIMIT %s OFFSET %s",
                [*params, query.limit, offset],
            ).fetchall()
        return [entry_view(row) for row in rows], int(counted["n"]) if counted else 0

    def verify(self) -> Verdict:
        """Recompute the whole chain, streaming the rows in log order."""
        with self.datastore.get_connection() as conn, conn.transaction():
            # One snapshot for the rows and the head, so a projection committing meanwhile
            # cannot make an intact chain look broken.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            row = conn.execute("SELECT entries, hash FROM llmchat_audit_head").fetchone()
            # No head at all means no entry was ever written.
            head = (int(row["entries"]), str(row["hash"])) if row else (0, GENESIS)
            with conn.cursor(name="llmchat_audit_verify") as rows:
                rows.execute(f"SELECT {COLUMNS} FROM llmchat_audit ORDER BY position")
                return verify(chain_from_rows(iter(rows)), head)
