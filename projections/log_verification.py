"""What `llmchat audit verify` and GET /api/admin/audit/verify answer: the audit trail's chain,
the event log's seal chain, and any signed checkpoints held against it."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from projections.audit_views import AuditCheck, AuditViews
from projections.checkpoints import Checkpoint, history_problem, signature_problem
from projections.seal_check import EventChainCheck, check_event_chain


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    name: str  # where it came from (a file's path)
    checkpoint: Checkpoint | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class LogVerification:
    audit: AuditCheck
    events: EventChainCheck
    checkpoints: list[CheckpointResult] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return (
            self.audit.verdict.intact
            and self.events.intact
            and all(c.problem is None for c in self.checkpoints)
        )


def verify_log(
    datastore: PostgresDatastore,
    checkpoints: Sequence[tuple[str, Checkpoint | str]] = (),
    public_key: str | None = None,
) -> LogVerification:
    """Both chains; each checkpoint (or why it could not be read) checked against the event
    chain in the same snapshot, its signature under `public_key`."""
    audit = AuditViews(datastore).check()
    with datastore.get_connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        events = check_event_chain(conn)
        results = []
        for name, checkpoint in checkpoints:
            if isinstance(checkpoint, str):
                results.append(CheckpointResult(name, None, checkpoint))
                continue
            assert public_key is not None
            problem = signature_problem(checkpoint, public_key) or history_problem(
                checkpoint, conn, events
            )
            results.append(CheckpointResult(name, checkpoint, problem))
    return LogVerification(audit, events, results)


def verification_view(verified: LogVerification) -> dict[str, Any]:
    """The JSON answer (camelCase, as the API's)."""
    audit, events = verified.audit, verified.events
    broken_at = audit.verdict.broken_at
    return {
        "intact": verified.intact,
        "auditChain": {
            "intact": audit.verdict.intact,
            "entries": audit.verdict.entries,
            "head": audit.verdict.head,
            "verifiedTo": audit.position,
            "logHead": audit.log_head,
            "unaudited": audit.unaudited,
            "quarantined": list(audit.quarantined),
            "problem": audit.verdict.problem,
            "brokenAt": None
            if broken_at is None
            else {"id": str(broken_at.id), "position": broken_at.position},
        },
        "eventChain": {
            "intact": events.intact,
            "sealing": events.sealing,
            "sealed": events.sealed,
            "verifiedTo": events.position,
            "seal": events.seal,
            "logHead": events.log_head,
            "unsealed": events.unsealed,
            "broken": events.broken,
            "breaks": [
                {
                    "position": b.position,
                    "problem": b.problem,
                    "streamId": b.event.stream_id if b.event else None,
                    "version": b.event.version if b.event else None,
                    "type": b.event.name if b.event else None,
                }
                for b in events.breaks
            ],
            "rewritten": events.rewritten,
        },
    }
