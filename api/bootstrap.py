"""The composition root: the one place that picks adapters, for `serve`, `worker` and tests."""

import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
import redis
from eventsourcing.postgres import PostgresDatastore

from application.accounts import Accounts
from application.agent_reload import follow_agents
from application.agent_status import AgentHealth
from application.agents import AgentCatalogue, AgentSource
from application.api_keys import ApiKeys
from application.attach_files import FileAttachments
from application.budget_gate import Budgets
from application.chat import Chat
from application.ensure_admin import ensure_admin
from application.files import BlobStore, Files
from application.jobs import JobWork
from application.parse_drawing import parse_drawing_job
from application.ports import AttemptCounter
from application.replies import LiveReplies
from domain.prices import PriceList
from infrastructure.agents_file import agent_source
from infrastructure.attempts import InMemoryAttempts, RedisAttempts
from infrastructure.blob_store import DirectoryBlobStore, PostgresBlobStore
from infrastructure.budget_counters import budget_counters
from infrastructure.cad.children import ChildLimits
from infrastructure.cad.reader import DxfReader
from infrastructure.clock import SystemClock
from infrastructure.drawing_results import PostgresDrawingResults
from infrastructure.embedded_postgres import EmbeddedPostgres, start_embedded
from infrastructure.encryption import event_cipher
from infrastructure.event_store import RecorderEventStore
from infrastructure.files.inspector import ContentChecks
from infrastructure.group_commit import GroupCommitWriter
from infrastructure.instances import PostgresOpenReplies, keep_alive
from infrastructure.jobs import RedisJobs, ThreadJobs
from infrastructure.known_users import KnownUsers, registered_in
from infrastructure.log_format import use_json_logs
from infrastructure.passwords import Argon2Hasher
from infrastructure.postgres import create_schema, open_datastore
from infrastructure.prices_file import read_prices
from infrastructure.providers import ProviderTimeouts, build_providers, new_http_client
from infrastructure.rate_limit import LocalSlidingWindow, RateLimiter, RedisSlidingWindow
from infrastructure.reply_metrics import PrometheusReplyMetrics
from infrastructure.reply_signals import InProcessSignals, RedisSignals
from infrastructure.retention import keep_sweeping
from infrastructure.revocations import AsyncPostgresRevocations, PostgresRevocations
from infrastructure.settings import Settings
from infrastructure.tokens import JwtTokens, load_or_create_secret
from projections.agents import AgentsProjection
from projections.audit import AuditProjection
from projections.budget_spending import LedgerSpending
from projections.conversation_views import ConversationViews
from projections.conversations import ConversationsProjection
from projections.files import FilesProjection
from projections.projection import Projection
from projections.runner import POSITIONS, ProjectionRunner, start_threads
from projections.stats import StatsProjection
from projections.usage import UsageProjection

Signals = InProcessSignals | RedisSignals
JobRunner = RedisJobs | ThreadJobs


def projections(prices: PriceList | None = None) -> list[Projection]:
    """Every read model; `prices` price the usage ledger (none: usage is counted, unpriced)."""
    return [
        AgentsProjection(),
        ConversationsProjection(),
        FilesProjection(),
        StatsProjection(),
        AuditProjection(),
        UsageProjection(prices),
    ]


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
    agents: AgentCatalogue
    chat: Chat
    signals: Signals
    writer: GroupCommitWriter
    http: httpx.AsyncClient
    views: ConversationViews
    runner: ProjectionRunner
    projections: list[Projection]
    agent_source: AgentSource
    agent_health: AgentHealth
    # Security and operations (see api/edge.py).
    api_keys: ApiKeys
    rate_limiter: RateLimiter
    budgets: Budgets
    files: Files
    jobs: JobRunner
    revocation_check: AsyncPostgresRevocations
    known_users: KnownUsers
    drawings: DxfReader
    embedded: EmbeddedPostgres | None = None
    stop_workers: threading.Event = field(default_factory=threading.Event)
    version: str = field(default_factory=package_version)
    started_at: float = field(default_factory=time.time)
    closed: bool = False

    def start_workers(self) -> list[threading.Thread]:
        """Projection runners in this process, until close()."""
        return start_threads(self.runner, self.projections, self.stop_workers)

    def start_jobs(self) -> None:
        """Run jobs in this process (with Redis, also those other processes sent)."""
        self.jobs.start_worker()

    def start_retention(self) -> threading.Thread:
        """Expire idle conversations every few minutes, until close()."""
        return keep_sweeping(
            self.store,
            self.datastore,
            SystemClock(),
            self.settings.retention_days,
            self.stop_workers,
        )

    def start_heartbeat(self) -> threading.Thread:
        """Say this instance is alive, and interrupt replies of instances that are not."""
        open_replies = PostgresOpenReplies(self.datastore, self.store, self.chat.instance_id)
        return keep_alive(self.store, open_replies, self.stop_workers)

    async def start(self) -> None:
        """The parts that live on the server's event loop."""
        await self.signals.start()
        await self.writer.start()
        await self.revocation_check.start()

    async def stop(self) -> None:
        # Replies first: closing them still needs the writer.
        await self.chat.live.settle(self.settings.shutdown_grace_seconds)
        await self.writer.stop()
        await self.revocation_check.stop()
        await self.signals.stop()
        await self.http.aclose()
        await self.rate_limiter.aclose()
        await self.budgets.counters.aclose()

    def close(self) -> None:
        """Idempotent: the app's shutdown and the CLI both call it."""
        if self.closed:
            return
        self.closed = True
        self.stop_workers.set()
        self.jobs.close()
        self.drawings.close()
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


def rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url is None:
        return LocalSlidingWindow()
    return RedisSlidingWindow(settings.redis_url, settings.redis_namespace)


def build_container(settings: Settings, serving: bool = True) -> Container:
    """Everything wired; `serving` (serve, worker, tests) also makes sure of the configured
    administrator and agents. Auditor and operator commands pass False: they only read, so
    running one from a shell without the agents file must not deactivate the agents."""
    if settings.log_format == "json":
        use_json_logs()
    source = agent_source(settings.agents_file)
    # Read first: a bad agents file stops the start before anything is started or written.
    defined_agents = source.read()
    prices = read_prices(settings.prices_file)
    data_dir = Path(settings.data_dir)
    # Only serve and worker may create the embedded database; a read elsewhere must not.
    embedded = None if settings.database_url else start_embedded(data_dir, create=serving)
    url = settings.database_url or (embedded.url if embedded else "")
    datastore = open_datastore(url, settings.db_pool_size)
    clock = SystemClock()
    read_models = projections(prices)
    schema = [*POSITIONS, *(statement for p in read_models for statement in p.schema)]
    recorder = create_schema(datastore, schema)
    store = RecorderEventStore(recorder, clock, event_cipher(settings))
    client = connect_redis(settings)
    accounts = Accounts(
        store=store,
        hasher=Argon2Hasher(),
        tokens=JwtTokens(settings.jwt_secret or load_or_create_secret(data_dir)),
        revocations=PostgresRevocations(datastore),
        attempts=attempt_counter(client, settings),
        clock=clock,
        refresh_grace=settings.refresh_grace_seconds,
    )
    serving_admin = serving and settings.admin_email is not None
    if serving_admin and settings.admin_email and settings.admin_password:
        ensure_admin(accounts, settings.admin_email, settings.admin_password)
    agents = AgentCatalogue(store)
    if serving:
        follow_agents(store, agents, defined_agents)
    else:
        agents.refresh()
    live = LiveReplies()
    signals = reply_signals(settings, live)
    writer = GroupCommitWriter(url, store.stamped)
    timeouts = ProviderTimeouts(
        first_byte=settings.provider_first_byte_seconds, read=settings.provider_idle_seconds
    )
    http = new_http_client(timeouts)
    drawings = DxfReader(drawing_limits(settings))
    files = Files(
        store=store,
        blobs=blob_store(settings, datastore),
        inspector=ContentChecks(),
        drawings=drawings,
        drawing_results=PostgresDrawingResults(datastore),
    )
    counters = budget_counters(settings.redis_url, settings.redis_namespace)
    budgets = Budgets(store, counters, LedgerSpending(datastore), prices)
    chat = Chat(
        store=store,
        writer=writer,
        live=live,
        signals=signals,
        agents=agents,
        providers=build_providers(http, timeouts),
        instance_id=str(uuid.uuid4()),
        metrics=PrometheusReplyMetrics(prices),
        attachments=FileAttachments(files),
        budgets=budgets,
    )
    revocation_check = AsyncPostgresRevocations(url)
    return Container(
        settings=settings,
        datastore=datastore,
        store=store,
        accounts=accounts,
        redis=client,
        agents=agents,
        chat=chat,
        signals=signals,
        writer=writer,
        http=http,
        views=ConversationViews(datastore),
        runner=ProjectionRunner(datastore, store, recorder.channel_name, url),
        projections=read_models,
        agent_source=source,
        agent_health=AgentHealth(agents, chat.providers, clock),
        api_keys=ApiKeys(store),
        rate_limiter=rate_limiter(settings),
        budgets=budgets,
        files=files,
        jobs=job_runner(settings, JobWork(parse_drawing=partial(parse_drawing_job, files))),
        revocation_check=revocation_check,
        known_users=KnownUsers(registered_in(revocation_check.pool)),
        drawings=drawings,
        embedded=embedded,
    )


def drawing_limits(settings: Settings) -> ChildLimits:
    return ChildLimits(
        memory_bytes=settings.cad_memory_mb * 1024 * 1024, seconds=settings.cad_seconds
    )


def blob_store(settings: Settings, datastore: PostgresDatastore) -> BlobStore:
    if settings.file_storage == "directory":
        return DirectoryBlobStore(Path(settings.file_dir or Path(settings.data_dir) / "files"))
    return PostgresBlobStore(datastore)


def reply_signals(settings: Settings, live: LiveReplies) -> Signals:
    if settings.redis_url is None:
        return InProcessSignals(live.cancel)
    return RedisSignals(settings.redis_url, settings.redis_namespace, live.cancel)


def job_runner(settings: Settings, work: JobWork) -> JobRunner:
    if settings.redis_url is None:
        return ThreadJobs(work)
    return RedisJobs(settings.redis_url, settings.redis_namespace, work)
