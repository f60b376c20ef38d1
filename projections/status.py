"""Where each projection stands: its position, the log's head, how far behind, and its lag.

Lag is measured by the runner as it commits a batch: from the append of the batch's last
event to its becoming visible in the read model (llmchat_projection_positions.lag_ms).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.postgres import PostgresDatastore

from projections.projection import Projection
from projections.quarantine import QuarantineEntry, quarantine_counts, quarantine_entries

# Quarantined events listed under the table; the count covers them all.
LISTED = 20


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    applied_at: datetime | None
    lag_ms: float | None
    quarantined: int = 0

    @property
    def behind(self) -> int:
        return max(self.head - self.position, 0)


@dataclass(frozen=True, slots=True)
class StatusReport:
    projections: list[ProjectionStatus]
    quarantine: list[QuarantineEntry]
    quarantined: int


def status_report(
    datastore: PostgresDatastore, projections: Sequence[Projection], listed: int = LISTED
) -> StatusReport:
    """The projections' status and the first quarantined events, read together."""
    statuses = projection_status(datastore, projections)
    with datastore.get_connection() as conn, conn.cursor() as cursor:
        entries, total = quarantine_entries(cursor, listed)
    return StatusReport(statuses, entries, total)


def projection_status(
    datastore: PostgresDatastore, projections: Sequence[Projection]
) -> list[ProjectionStatus]:
    """Every projection this process runs, also those that have not applied anything yet."""
    with datastore.get_connection() as conn:
        head_row = conn.execute(
            "SELECT COALESCE(MAX(notification_id), 0) AS head FROM llmchat_events"
        ).fetchone()
        rows = {
            row["name"]: row
            for row in conn.execute(
                "SELECT name, position, applied_at, lag_ms FROM llmchat_projection_positions"
            ).fetchall()
        }
        with conn.cursor() as cursor:
            quarantined = quarantine_counts(cursor)
    head = int(head_row["head"]) if head_row else 0
    return [
        ProjectionStatus(
            name=projection.name,
            position=int(row["position"]) if row else 0,
            head=head,
            applied_at=row["applied_at"] if row else None,
            lag_ms=None if row is None or row["lag_ms"] is None else float(row["lag_ms"]),
            quarantined=quarantined.get(projection.name, 0),
        )
        for projection in projections
        for row in [rows.get(projection.name)]
    ]


def status_table(report: StatusReport) -> str:
    header = (
        f"{'projection':<16}{'position':>10}{'head':>10}{'behind':>8}{'lag ms':>10}"
        f"{'quarantined':>13}  applied"
    )
    lines = [header]
    for status in report.projections:
        lag = f"{status.lag_ms:.1f}" if status.lag_ms is not None else "-"
        applied = status.applied_at.isoformat(timespec="seconds") if status.applied_at else "-"
        lines.append(
            f"{status.name:<16}{status.position:>10}{status.head:>10}{status.behind:>8}"
            f"{lag:>10}{status.quarantined:>13}  {applied}"
        )
    if report.quarantined:
        lines += ["", f"quarantined events ({report.quarantined}; a rebuild applies them again):"]
        lines += [
            f"  position {q.event.position} {q.name}: {q.event.event_type}"
            f" (stream {q.event.stream_id}, version {q.event.version}): {q.event.error}"
            for q in report.quarantine
        ]
        if report.quarantined > len(report.quarantine):
            lines.append(f"  ... and {report.quarantined - len(report.quarantine)} more")
    return "\n".join(lines)
