"""The start step: what a wired container (api/bootstrap.py) does to the world before it runs.

`serve`, `worker` and the in-process test app `start`: the tables (DDL under one lock), the
configured administrator, the agents file as events. Operator commands that write (`projections
rebuild`, `retention sweep`, `admin promote`) only `create_tables`. Read-only commands (`audit
verify`, `events export`, `sessions replay`, `projections status`) do none of it: they
`check_tables` and, in a database LLMChat never started in, say so instead of creating any;
run from a shell without the agents file, they must not deactivate the agents either.
"""

from pathlib import Path
from typing import Any

from api.bootstrap import Container, Database, build_container
from application.agent_reload import follow_agents
from application.ensure_admin import ensure_admin
from infrastructure import postgres
from infrastructure.database_errors import where
from infrastructure.embedded_postgres import start_embedded
from infrastructure.settings import Settings


class NoTablesHere(Exception):
    """A read-only command found a database without LLMChat's tables."""

    def __init__(self, settings: Settings, url: str) -> None:
        named = (
            f"{where(url)} (LLMCHAT_DATABASE_URL)"
            if settings.database_url
            else f"the embedded database in {Path(settings.data_dir).resolve()} (LLMCHAT_DATA_DIR)"
        )
        super().__init__(
            f"no LLMChat tables in {named}: nothing to read yet; `llmchat serve` or"
            " `llmchat worker` creates them"
        )


def reach_database(settings: Settings, create: bool) -> Database:
    """The configured database, or the embedded one under the data dir, started or joined.
    Only `create` (serve, worker) may create the embedded one: a read elsewhere must not."""
    if settings.database_url:
        return Database(settings.database_url)
    embedded = start_embedded(Path(settings.data_dir), create=create)
    return Database(embedded.url, embedded)


def create_tables(container: Container) -> None:
    """The event table, our own tables and the read models', created if missing; the
    payload key's row, when a master key is set."""
    postgres.create_tables(container.datastore, container.recorder, container.schema)
    container.keys.make_log_key()


def start(container: Container) -> Container:
    """Tables, then the configured administrator, then the agents file as events."""
    create_tables(container)
    settings = container.settings
    if settings.admin_email and settings.admin_password:
        ensure_admin(container.accounts, settings.admin_email, settings.admin_password)
    follow_agents(container.store, container.agents, container.defined_agents)
    return container


def check_tables(container: Container) -> Container:
    """Raise NoTablesHere unless the event table is there; creates nothing."""
    if not postgres.has_tables(container.datastore):
        raise NoTablesHere(container.settings, container.settings.database_url or "")
    return container


def started(settings: Settings, **adapters: Any) -> Container:
    """Wired and started, as `serve` runs it; `adapters` replace the root's (see
    build_container), so a test shapes the very app the server runs."""
    container = build_container(settings, reach_database(settings, create=True), **adapters)
    try:
        return start(container)
    except BaseException:
        container.close()
        raise
