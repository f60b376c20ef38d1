"""The audit trail's hash chain: each entry's hash covers its content and the hash before it.

    hash = sha256(previous_hash || canonical_json(entry))   (hex digests; utf-8 bytes)

`canonical_json` is the entry's API fields with sorted keys and no spaces, so anyone can
recompute a hash from a row or an API answer. The first entry's previous hash is GENESIS.
Altering, removing or reordering a row breaks the chain at that row; the chain head
(llmchat_audit_head) also catches a removed last row. Copy the head's hash somewhere else
from time to time: someone able to rewrite the whole table could rewrite the chain too.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from projections.audit_entries import AuditEntry

GENESIS = "0" * 64


def canonical_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "position": entry.position,
        "timestamp": entry.timestamp,
        "userId": entry.user_id,
        "action": entry.action,
        "resource": entry.resource,
        "outcome": entry.outcome,
        "details": entry.details,
        "ip": entry.ip,
        "userAgent": entry.user_agent,
        "requestId": entry.request_id,
    }


def canonical_json(entry: AuditEntry) -> bytes:
    return msgspec.json.encode(canonical_view(entry), order="sorted")


def chained_hash(previous_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(previous_hash.encode() + canonical_json(entry)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    entry: AuditEntry
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int
    head: str
    broken_at: AuditEntry | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify(chain: Iterable[ChainedEntry], head: tuple[int, str] | None) -> Verdict:
    """Walk the chain in log order; `head` is (entries, last hash) as the projection left it."""
    expected_previous, count = GENESIS, 0
    for link in chain:
        count += 1
        where = link.entry
        if link.previous_hash != expected_previous:
            problem = "its previous hash is not the hash of the entry before it"
            return Verdict(count, expected_previous, where, problem + " (removed or reordered)")
        if chained_hash(link.previous_hash, link.entry) != link.hash:
            return Verdict(count, expected_previous, where, "its content does not match its hash")
        expected_previous = link.hash
    if head is not None and head != (count, expected_previous):
        problem = f"the chain ends after {count} entries but the head says {head[0]}"
        return Verdict(count, expected_previous, None, problem)
    return Verdict(count, expected_previous)
