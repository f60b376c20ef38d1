"""`llmchat audit verify|checkpoint` and `llmchat keys new-signing-key`: what an auditor runs.

All of them only read: verify and checkpoint never create a table or write an event (where
the sealer never ran, nothing is sealed, and they say so); new-signing-key touches no
database at all.
"""

import argparse
import sys
from pathlib import Path

from api import cli_keys
from api.bootstrap import Container
from infrastructure.signing import BadKey, key_bytes, new_signing_key, public_key_of
from projections.checkpoints import (
    Checkpoint,
    UnreadableCheckpoint,
    encoded,
    new_checkpoint,
    read_checkpoint,
)
from projections.log_verification import LogVerification, verify_log
from projections.seal_check import table_exists
from projections.sealer import SEALS_TABLE, sealed_head

SHOWN = 10


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    audit = commands.add_parser("audit", help="the audit trail and the sealed event log")
    audit_actions = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_actions.add_parser(
        "verify", help="recompute the audit trail's and the event log's hash chains"
    )
    verify.add_argument(
        "--checkpoint",
        nargs="+",
        default=[],
        metavar="FILE",
        help="signed checkpoints (llmchat audit checkpoint) the log must still match",
    )
    verify.add_argument(
        "--public-key",
        default=None,
        metavar="KEY",
        help="the key checkpoints are signed with (default: LLMCHAT_SIGNING_KEY's)",
    )
    audit_actions.add_parser(
        "checkpoint", help="print the sealed head, signed with LLMCHAT_SIGNING_KEY, as JSON"
    )
    keys = commands.add_parser("keys", help="keys")
    key_actions = keys.add_subparsers(dest="keys_command", required=True)
    key_actions.add_parser(
        "new-signing-key",
        help="print a new Ed25519 private key (LLMCHAT_SIGNING_KEY), then its public key",
    )
    cli_keys.add_rotate(key_actions)


def new_key() -> int:
    private, public = new_signing_key()
    print(private)
    print(public)
    return 0


def run_audit(args: argparse.Namespace, container: Container) -> int:
    if args.audit_command == "checkpoint":
        return checkpoint(container)
    return verify(container, args.checkpoint, args.public_key)


def checkpoint(container: Container) -> int:
    private = container.settings.signing_key
    if private is None:
        print(
            "llmchat: set LLMCHAT_SIGNING_KEY to sign checkpoints"
            " (llmchat keys new-signing-key makes one)",
            file=sys.stderr,
        )
        return 2
    with container.datastore.get_connection() as conn:
        position, seal = sealed_head(conn) if table_exists(conn, SEALS_TABLE) else (0, "")
    if position == 0:
        print(
            "llmchat: nothing is sealed yet: the sealer runs in llmchat worker and llmchat serve",
            file=sys.stderr,
        )
        return 1
    print(encoded(new_checkpoint(position, seal, private, container.clock)))
    return 0


def verify(container: Container, files: list[str], public_key: str | None) -> int:
    """Exit 0 when what it verified is intact, even if the projections or the sealer have
    not reached the log's head: it says how far it verified and what is not yet covered."""
    if files and public_key is None:
        if container.settings.signing_key is None:
            print(
                "llmchat: checking checkpoints needs the key they were signed with:"
                " set LLMCHAT_SIGNING_KEY or pass --public-key",
                file=sys.stderr,
            )
            return 2
        public_key = public_key_of(container.settings.signing_key)
    if public_key is not None:
        try:
            key_bytes(public_key, "public key")
        except BadKey as error:
            print(f"llmchat: --public-key: {error}", file=sys.stderr)
            return 2
    checkpoints: list[tuple[str, Checkpoint | str]] = []
    for name in files:
        try:
            checkpoints.append((name, read_checkpoint(Path(name))))
        except UnreadableCheckpoint as error:
            checkpoints.append((name, str(error)))
    verified = verify_log(container.datastore, checkpoints, public_key)
    print_audit_chain(verified)
    print_event_chain(verified)
    print_checkpoints(verified)
    return 0 if verified.intact else 1


def print_audit_chain(verified: LogVerification) -> None:
    checked = verified.audit
    verdict = checked.verdict
    if verdict.intact:
        reach = " (the log's head)" if checked.unaudited == 0 else ""
        print(
            f"audit chain intact: {verdict.entries} entries, head {verdict.head},"
            f" verified to position {checked.position}{reach}"
        )
        if checked.unaudited:
            print(
                f"not yet audited: {checked.unaudited} events after position"
                f" {checked.position} (log head {checked.log_head}); the audit projection"
                " is behind the log (llmchat projections status)"
            )
        if checked.quarantined:
            print(
                f"not audited: {len(checked.quarantined)} events the audit projection could"
                f" not apply (quarantined; positions {listed(checked.quarantined)}):"
                " see llmchat projections status"
            )
        return
    broken = verdict.broken_at
    if broken is None:
        print(f"audit chain broken: {verdict.problem}", file=sys.stderr)
    else:
        print(
            f"audit chain broken at entry {broken.id} (position {broken.position},"
            f" {broken.action} at {broken.timestamp}): {verdict.problem}",
            file=sys.stderr,
        )


def print_event_chain(verified: LogVerification) -> None:
    chain = verified.events
    if not chain.sealing or (chain.sealed == 0 and chain.intact):
        print(
            f"event chain: nothing sealed yet (log head {chain.log_head}); the sealer runs in"
            " llmchat worker and llmchat serve"
        )
        return
    if chain.intact:
        reach = " (the log's head)" if chain.unsealed == 0 else ""
        print(
            f"event chain intact: {chain.sealed} events sealed, seal {chain.seal},"
            f" verified to position {chain.position}{reach}"
        )
    if chain.unsealed:
        print(
            f"not yet sealed: {chain.unsealed} events after position {chain.position}"
            f" (log head {chain.log_head}); the sealer trails the log by moments"
        )
    if chain.rewritten:
        print(
            f"rewritten in place: {len(chain.rewritten)} events stored in the clear before"
            f" data keys (positions {listed(chain.rewritten)}): retention or erasure took"
            " their text out, each rewrite recorded in llmchat_event_rewrites"
        )
    for broken in chain.breaks[:SHOWN]:
        event = broken.event
        what = ""
        if event is not None:
            what = f" (stream {event.stream_id}, version {event.version}, {event.name})"
        print(
            f"event chain broken at position {broken.position}{what}: {broken.problem}",
            file=sys.stderr,
        )
    if chain.broken > SHOWN:
        print(f"event chain broken at {chain.broken - SHOWN} more positions", file=sys.stderr)


def print_checkpoints(verified: LogVerification) -> None:
    for result in verified.checkpoints:
        point = result.checkpoint
        said = f" (position {point.position}, {point.time}, key {point.key_id})" if point else ""
        if result.problem is None:
            print(f"checkpoint {result.name}{said}: history up to it is unchanged")
        else:
            print(f"checkpoint {result.name}{said}: {result.problem}", file=sys.stderr)


def listed(positions: tuple[int, ...] | list[int]) -> str:
    more = ", ..." if len(positions) > SHOWN else ""
    return ", ".join(str(p) for p in positions[:SHOWN]) + more
