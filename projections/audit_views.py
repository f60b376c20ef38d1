"""Queries over the audit trail: pages for GET /api/admin/audit, and the chain for verify."""

from dataclasses import dataclass
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from application.audit_log import AuditQuery
from projections.audit import COLUMNS, chain_from_rows, entry_from_row
from projections.audit_chain import GENESIS, Verdict, canonical_view, verify
from projections.projection import where_all


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """The chain's verdict and what it covers: the log up to `position`, less the events
    the audit projection quarantined; the events after it up to `log_head` are unaudited."""

    verdict: Verdict
    position: int
    log_head: int
    quarantined: tuple[int, ...]

    @property
    def unaudited(self) -> int:
        return max(self.log_head - self.position, 0)


def entry_view(row: dict[str, Any]) -> dict[str, Any]:
    view = canonical_view(entry_from_row(row))
    view["id"] = str(view["id"])
    view["hash"] = row["hash"]
    return view


def conditions(query: AuditQuery) -> tuple[str, list[Any]]:
    return where_all(
        [
            ("user_id = %s", query.user_id),
            ("action = %s", query.action),
            ("at >= %s", query.start),
            ("at < %s", query.end),
        ]
    )


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
                # Newest first as the timestamps say: an append takes its time before the
                # table lock, so under load position and time may differ by milliseconds.
                " ORDER BY at DESC, position DESC LIMIT %s OFFSET %s",
                [*params, query.limit, offset],
            ).fetchall()
        return [entry_view(row) for row in rows], int(counted["n"]) if counted else 0

    def verify(self) -> Verdict:
        return self.check().verdict

    def check(self) -> AuditCheck:
        """Recompute the whole chain, streaming the rows in log order, and say how far in
        the log it reaches."""
        with self.datastore.get_connection() as conn, conn.transaction():
            # One snapshot for the rows, the head and the position, so a projection
            # committing meanwhile cannot make an intact chain look broken.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            row = conn.execute("SELECT entries, hash FROM llmchat_audit_head").fetchone()
            # No head at all means no entry was ever written.
            head = (int(row["entries"]), str(row["hash"])) if row else (0, GENESIS)
            reached = conn.execute(
                "SELECT COALESCE((SELECT position FROM llmchat_projection_positions"
                " WHERE name = 'audit'), 0) AS position,"
                " (SELECT COALESCE(MAX(notification_id), 0) FROM llmchat_events) AS head"
            ).fetchone()
            skipped = conn.execute(
                "SELECT position FROM llmchat_projection_quarantine WHERE name = 'audit'"
                " ORDER BY position"
            ).fetchall()
            with conn.cursor(name="llmchat_audit_verify") as rows:
                rows.execute(f"SELECT {COLUMNS} FROM llmchat_audit ORDER BY position")
                verdict = verify(chain_from_rows(iter(rows)), head)
        assert reached is not None
        return AuditCheck(
            verdict,
            int(reached["position"]),
            int(reached["head"]),
            tuple(int(r["position"]) for r in skipped),
        )
