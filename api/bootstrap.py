"""The composition root: the one place that picks adapters, for `serve`, `worker` and tests."""

import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import redis
from eventsourcing.postgres import PostgresDatastore

from application.accounts import Accounts, SystemClock
from application.ensure_admin import ensure_admin
from application.ports import AttemptCounter
from infrastructure.attempts import InMemoryAttempts, RedisAttempts
from infrastructure.embedded_postgres import EmbeddedPostgres, start_embedded
from infrastructure.event_store import RecorderEventStore
from infrastructure.passwords import Argon2Hasher
from infrastructure.postgres import create_schema, open_datastore
from infrastructure.revocations import PostgresRevocations
from infrastructure.settings import Settings
from infrastructure.tokens import JwtTokens, load_or_create_secret


def package_version() -> str:
    try:
        return version("llmchat")
    except PackageNotFoundError:
        return "0.0.0"


@dataclass
class Container:
    settings: Settings
    datastore: PostgresDatastore
    store: RecorderEventStore
    accounts: Accounts
    redis: redis.Redis | None
    embedded: EmbeddedPostgres | None = None
    version: str = field(default_factory=package_version)
    started_at: float = field(default_factory=time.time)
    closed: bool = False

    def close(self) -> None:
        """Idempotent: the app's shutdown and the CLI both call it."""
        if self.closed:
            return
        self.closed = True
        if self.redis is not None:
            self.redis.close()
        self.datastore.close()
        if self.embedded is not None:
            self.embedded.release()


def connect_redis(settings: Settings) -> redis.Redis | None:
    if settings.redis_url is None:
        return None
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=10
    )


def attempt_counter(client: redis.Redis | None, settings: Settings) -> AttemptCounter:
    if client is None:
        return InMemoryAttempts()
    return RedisAttempts(client, settings.redis_namespace)


def build_container(settings: Settings) -> Container:
    data_dir = Path(settings.data_dir)
    embedded = None if settings.database_url else start_embedded(data_dir)
    url = settings.database_url or (embedded.url if embedded else "")
    datastore = open_datastore(url, settings.db_pool_size)
    clock = SystemClock()
    store = RecorderEventStore(create_schema(datastore), clock)
    client = connect_redis(settings)
    accounts = Accounts(
        store=store,
        hasher=Argon2Hasher(),
        tokens=JwtTokens(settings.jwt_secret or load_or_create_secret(data_dir)),
        revocations=PostgresRevocations(datastore),
        attempts=attempt_counter(client, settings),
        clock=clock,
    )
    if settings.admin_email is not None and settings.admin_password is not None:
        ensure_admin(accounts, settings.admin_email, settings.admin_password)
    return Container(settings, datastore, store, accounts, client, embedded)
