"""`llmchat projections rebuild|status`, `llmchat sessions replay`, `llmchat retention sweep`:
the operator's commands over read models and history (the auditor's are in api/cli_audit.py)."""

import argparse
import sys
from typing import Any, TextIO

import msgspec

from api.bootstrap import Container
from api.bootstrap import projections as read_models
from application.errors import ValidationFailed
from application.moments import parse_moment
from application.replay_session import ReplayedSession, replay_session
from infrastructure.retention import sweep
from projections.rebuild import rebuild
from projections.status import status_report, status_table

COMMANDS = frozenset({"projections", "sessions", "retention"})


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    projections = commands.add_parser("projections", help="read models: rebuild, status")
    actions = projections.add_subparsers(dest="projections_command", required=True)
    rebuilding = actions.add_parser("rebuild", help="rebuild read models from the event log")
    names = ", ".join(p.name for p in read_models())
    rebuilding.add_argument("name", nargs="?", help=f"one projection: {names} (default: every one)")
    actions.add_parser("status", help="each projection's position, the log head, lag")
    sessions = commands.add_parser("sessions", help="chat sessions as history holds them")
    session_actions = sessions.add_subparsers(dest="sessions_command", required=True)
    replay = session_actions.add_parser("replay", help="a session as it stood at a moment")
    replay.add_argument("session_id", metavar="SESSION_ID")
    replay.add_argument("--at", default=None, help="ISO-8601 date-time (default: now)")
    replay.add_argument("--json", action="store_true", help="one JSON object instead of text")
    retention = commands.add_parser("retention", help="expire idle conversations")
    retention_actions = retention.add_subparsers(dest="retention_command", required=True)
    sweeping = retention_actions.add_parser("sweep", help="expire idle conversations now")
    sweeping.add_argument(
        "--days", type=float, default=None, help="idle this long (default: LLMCHAT_RETENTION_DAYS)"
    )


def run_command(args: argparse.Namespace, container: Container) -> int:
    if args.command == "projections" and args.projections_command == "rebuild":
        return rebuild_projections(container, args.name)
    if args.command == "projections":
        print(status_table(status_report(container.datastore, container.projections)))
        return 0
    if args.command == "retention":
        days = args.days if args.days is not None else container.settings.retention_days
        expired = sweep(container.store, container.datastore, container.keys, container.clock, days)
        print(f"{expired} conversations expired (idle more than {days:g} days)")
        return 0
    return replay(container, args.session_id, args.at, args.json)


def rebuild_projections(container: Container, name: str | None) -> int:
    chosen = [p for p in container.projections if name is None or p.name == name]
    if not chosen:
        known = ", ".join(p.name for p in container.projections)
        print(f"llmchat: no projection named {name!r} (known: {known})", file=sys.stderr)
        return 2
    for projection in chosen:
        print(f"{projection.name}: waiting for its lock", file=sys.stderr, flush=True)
        bar = ProgressBar(sys.stderr)
        done = rebuild(container.runner, projection, bar)
        summary = f"{done.name}: rebuilt from {done.events} events (position {done.position})"
        if done.quarantined:
            positions = ", ".join(str(q.position) for q in done.quarantined[:10])
            more = ", ..." if len(done.quarantined) > 10 else ""
            summary += (
                f"; {len(done.quarantined)} events quarantined (positions {positions}{more}):"
                " see llmchat projections status"
            )
        bar.finish(summary)
    return 0


class ProgressBar:
    """A bar on a terminal; on anything else, nothing until the summary line."""

    WIDTH = 30

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()

    def __call__(self, name: str, position: int, head: int) -> None:
        if not self.live or head <= 0:
            return
        share = min(position / head, 1.0)
        filled = int(share * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.out.write(f"\r{name}: [{bar}] {position}/{head}")
        self.out.flush()

    def finish(self, summary: str) -> None:
        # On a terminal the summary overwrites the bar (padded over its longer line).
        prefix, pad = ("\r", " " * 20) if self.live else ("", "")
        self.out.write(f"{prefix}{summary}{pad}\n")
        self.out.flush()


def replay(container: Container, session_id: str, at_text: str | None, as_json: bool) -> int:
    try:
        at = parse_moment("--at", at_text, as_end=True) if at_text else None
        session = replay_session(container.store, session_id, at)
    except ValidationFailed as error:
        said = (
            error.message if error.details == error.message else f"{error.message}: {error.details}"
        )
        print(f"llmchat: {said}", file=sys.stderr)
        return 2
    if session is None:
        print(f"llmchat: session {session_id} did not exist then", file=sys.stderr)
        return 1
    if as_json:
        print(msgspec.json.encode(camel_case(msgspec.to_builtins(session))).decode())
    else:
        print(session_text(session, at_text or "now"))
    return 0


def session_text(session: ReplayedSession, as_of: str) -> str:
    state = ", deleted" if session.deleted else ""
    lines = [
        f'session {session.id} "{session.title}" (agent {session.agent_id},'
        f" owner {session.owner_id}{state}) as of {as_of}:"
        f" {session.events} events, last change {session.last_change}"
    ]
    for message in session.messages:
        status = f" [{message.status}]" if message.status else ""
        lines.append(f"{message.at}  {message.role}{status}: {message.content}")
        for attempt in message.attempts:
            then = f"; asked {attempt.next_agent_id}" if attempt.next_agent_id else ""
            lines.append(
                f"{attempt.at}    attempt by {attempt.agent_id} ({attempt.provider}"
                f" {attempt.model}) failed, {attempt.reason}: {attempt.error}{then}"
            )
        for claim in message.claims:
            lines.append(
                f"{claim.at}    taken over by instance {claim.instance_id} from"
                f" {claim.previous_instance_id} after {claim.stored_chars} characters"
            )
    return "\n".join(lines)


def camel_case(value: Any) -> Any:
    """The API's key style (`ownerId`, `lastChange`), so one parser reads both."""
    if isinstance(value, dict):
        return {camel(key): camel_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_case(item) for item in value]
    return value


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
