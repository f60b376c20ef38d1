"""The `llmchat` command: serve, worker, events export, admin promote, the read-model commands."""

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import msgspec
import psycopg

from api import cli_audit, cli_keys
from api.bootstrap import Container, build_container
from api.cli_read_models import COMMANDS as READ_MODEL_COMMANDS
from api.cli_read_models import add_commands as add_read_model_commands
from api.cli_read_models import run_command as run_read_model_command
from api.listener import CannotListen, listen
from api.start import NoTablesHere, check_tables, create_tables, reach_database, start
from application.ensure_admin import AdminAddressTaken
from application.errors import NotFound
from application.promote_admin import promote_admin
from domain.events import Recorded, Unreadable, name_of
from infrastructure.database_errors import connection_failure
from infrastructure.embedded_postgres import NoDatabaseHere
from infrastructure.settings import Settings, SettingsError, read_settings

log = logging.getLogger("llmchat")

# Secrets that live in events but never leave the store, not even in an export.
REDACTED_FIELDS = frozenset({"password_hash"})


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="llmchat", description="LLMChat chat backend")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API (and, by default, the workers)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=int, default=3001, help="port to listen on (%(default)s)")
    serve.add_argument("--no-workers", action="store_true", help="run the API only")
    commands.add_parser("worker", help="run projection runners and jobs on their own")
    events = commands.add_parser("events", help="the event log")
    event_commands = events.add_subparsers(dest="events_command", required=True)
    export = event_commands.add_parser("export", help="print the event history as JSON lines")
    export.add_argument("--since", type=int, default=0, help="only events after this position")
    export.add_argument("--stream", default=None, help="only this stream's events")
    export.add_argument(
        "--with-meta",
        action="store_true",
        help="add a `meta` key: who asked and from where (ip, userAgent, requestId)",
    )
    admin = commands.add_parser("admin", help="administrators")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    promote = admin_commands.add_parser(
        "promote", help="make an existing account administrator (the operator vouches for it)"
    )
    promote.add_argument("email", metavar="EMAIL")
    add_read_model_commands(commands)
    cli_audit.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "keys" and args.keys_command == "new-signing-key":
        return cli_audit.new_key()  # no settings, no database: a key is made here, offline
    try:
        settings = read_settings()
    except SettingsError as error:
        print(f"llmchat: bad setting: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    with ExitStack() as held:
        listener = None
        if args.command == "serve":
            # Before the database, the workers and the "serving on" line: a taken port is
            # the whole answer, not something uvicorn finds out once everything runs.
            try:
                listener = held.enter_context(listen(args.host, args.port))
            except CannotListen as error:
                print(f"llmchat: {error}", file=sys.stderr)
                return 1
        return start_and_run(args, settings, listener)


def start_and_run(
    args: argparse.Namespace, settings: Settings, listener: socket.socket | None
) -> int:
    try:
        container = started_for(args, settings)
    except AdminAddressTaken as error:  # says itself what to do
        print(f"llmchat: cannot start: {error}", file=sys.stderr)
        return 1
    except (NoDatabaseHere, NoTablesHere) as error:
        print(f"llmchat: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # one clear line, not a traceback, for a failed start
        print(f"llmchat: cannot start: {start_failure(settings, error)}", file=sys.stderr)
        return 1
    try:
        return run(args, settings, container, listener)
    except BrokenPipeError:
        # The reader stopped early (`| head`): that ends the output, it is no failure.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        container.close()


def started_for(args: argparse.Namespace, settings: Settings) -> Container:
    """Wired, then started as far as the command needs (see api/start.py)."""
    serving = args.command in ("serve", "worker")
    container = build_container(settings, reach_database(settings, create=serving))
    try:
        start_step(args)(container)
    except BaseException:
        container.close()
        raise
    return container


def start_step(args: argparse.Namespace) -> Callable[[Container], object]:
    """serve and worker start in full; operator commands that write make sure of the
    tables; read-only commands only check that they exist, and write nothing."""
    if args.command in ("serve", "worker"):
        return start
    rebuilding = args.command == "projections" and args.projections_command == "rebuild"
    if args.command in ("admin", "retention") or rebuilding:
        return create_tables
    return check_tables


def start_failure(settings: Settings, error: Exception) -> str:
    if settings.database_url and is_connection_failure(error):
        return connection_failure(settings.database_url, "LLMCHAT_DATABASE_URL")
    return f"{type(error).__name__}: {error}"


def is_connection_failure(error: Exception) -> bool:
    from eventsourcing.persistence import OperationalError
    from psycopg_pool import PoolTimeout

    return isinstance(error, OperationalError | PoolTimeout | psycopg.OperationalError)


def run(
    args: argparse.Namespace,
    settings: Settings,
    container: Container,
    listener: socket.socket | None = None,
) -> int:
    if args.command == "serve":
        assert listener is not None
        return serve(container, listener, workers=not args.no_workers)
    if args.command == "worker":
        return work(container)
    if args.command in READ_MODEL_COMMANDS:
        return run_read_model_command(args, container)
    if args.command == "audit":
        return cli_audit.run_audit(args, container)
    if args.command == "admin":
        return promote(container, args.email)
    if args.command == "keys":
        return cli_keys.rotate(container, args.old_key)
    return export_events(container, args.since, args.stream, args.with_meta)


def serve(container: Container, listener: socket.socket, workers: bool) -> int:
    import uvicorn

    from api.app import create_app

    app = create_app(container)
    container.start_heartbeat()
    if workers:
        container.start_workers()
        container.start_jobs()
        container.start_retention()
    # uvicorn re-raises the signal that stopped it once it has shut down; as an exception
    # it unwinds through our cleanup (and the embedded database's) instead of killing us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, port = listener.getsockname()[:2]
    address = f"[{host}]" if ":" in host else host
    log.info("serving on http://%s:%d (workers in process: %s)", address, port, workers)
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1 on its own;
    # we trust only LLMCHAT_TRUSTED_PROXIES (api/network_policy.py).
    # Open responses (SSE followers included) get the grace period to end on their own; the
    # replies behind them get it again in the app's shutdown (Container.stop).
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=int(container.settings.shutdown_grace_seconds),
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    # As uvicorn.run: a server that never started (its lifespan failed) is a failed start.
    return 0 if server.started else 3


def promote(container: Container, email: str) -> int:
    try:
        user = promote_admin(container.accounts, email)
    except NotFound as error:
        print(f"llmchat: {error.message}", file=sys.stderr)
        return 1
    print(f"{user.email} ({user.id}) is administrator; a new sign-in carries the role")
    return 0


def work(container: Container) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    container.start_workers()
    if container.settings.takeover == "interrupt":
        # Replies are taken over by API instances, which hold providers and followers: a
        # worker that beat would count as one that may take a shutting instance's replies.
        container.start_heartbeat(serving=False)
    container.start_retention()
    # The Dramatiq worker's threads call the jobs of this one container: it is built once
    # per worker process, not per message.
    container.start_jobs()
    log.info("worker started: %s, jobs", ", ".join(p.name for p in container.projections))
    stop.wait()
    return 0


def export_events(
    container: Container, since: int, stream: str | None, with_meta: bool = False
) -> int:
    """Exit 1 if any event could not be read: each is named on stderr and left out, and the
    export goes on past it."""
    out = sys.stdout
    unreadable = 0
    for recorded in history(container, since):
        if stream is not None and recorded.stream_id != stream:
            continue
        if isinstance(recorded.event, Unreadable):
            unreadable += 1
            out.flush()  # keep the two streams in order on a terminal
            print(
                f"llmchat: event at position {recorded.position} (stream {recorded.stream_id},"
                f" version {recorded.version}, {recorded.event.topic}) cannot be read,"
                f" skipped: {recorded.event.error}",
                file=sys.stderr,
            )
            continue
        line = export_line(recorded, with_meta)
        out.write(msgspec.json.encode(line).decode() + "\n")
    out.flush()
    if unreadable:
        print(f"llmchat: {unreadable} events could not be read and were skipped", file=sys.stderr)
        return 1
    return 0


def history(container: Container, since: int, page: int = 1000) -> Iterator[Recorded]:
    position = since
    while batch := container.store.read_all(position, page):
        yield from batch
        position = batch[-1].position


def export_line(recorded: Recorded, with_meta: bool = False) -> dict[str, Any]:
    """The six keys of the export format; `meta` only when asked for, so the format's
    consumers see exactly the keys they were promised."""
    data = msgspec.to_builtins(recorded.event)
    for field in REDACTED_FIELDS & data.keys():
        data[field] = "[redacted]"
    line = {
        "position": recorded.position,
        "stream": recorded.stream_id,
        "version": recorded.version,
        "type": name_of(recorded.event),
        "timestamp": recorded.timestamp,
        "data": data,
    }
    if with_meta and recorded.meta:
        line["meta"] = recorded.meta  # who asked and from where (ip, userAgent, requestId)
    return line
