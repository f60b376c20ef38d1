"""The composition root: the one place that picks adapters, for `serve`, `worker` and tests.

Wiring only: `build_container` builds every adapter and service and writes nothing to the
database (no DDL, no event; pools open on first use; the one write is the JWT secret file a
first start generates in the data dir when none is configured). Acting on the database
(tables, the administrator, the agents file) is the start step, `api/start.py`. A test
replaces any adapter by keyword, as cosmicpython's bootstrap does (`rate_limiter=...`).
"""

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import redis
from anyio import to_thread
from eventsourcing.postgres import PostgresDatastore

from api.callers import Callers, VerifiedTokens
from api.rate_limit import RateLimits
from application.accounts import Accounts
from application.admin_stats import SystemInfo
from application.agent_status import AgentHealth
from application.agents import AgentCatalogue, AgentSet, AgentSource
from application.api_keys import ApiKeys
from application.attach_files import FileAttachments
from application.budget_gate import Budgets
from application.chat import Chat
from application.erase_user import Erasing
from application.files import BlobStore, Files
from application.jobs import JobWork
from application.live_replies import LiveReplies
from application.parse_drawing import parse_drawing_job
from application.ports import AttemptCounter, Clock, PasswordHasher, TokenService
from application.provider import ChatProvider
from application.security_log import SecurityLog
from application.take_over_replies import TakeOver
from domain.prices import PriceList
from infrastructure.agents_file import agent_source
from infrastructure.attempts import InMemoryAttempts, RedisAttempts
from infrastructure.blob_store import DirectoryBlobStore, PostgresBlobStore
from infrastructure.budget_counters import budget_counters
from infrastructure.budget_index import NoticedBudgets
from infrastructure.cad.children import ChildLimits
from infrastructure.cad.reader import DxfReader
from infrastructure.clock import SystemClock
from infrastructure.data_keys import PostgresDataKeys
from infrastructure.drawing_results import PostgresDrawingResults
from infrastructure.embedded_postgres import EmbeddedPostgres
from infrastructure.encryption import event_cipher
from infrastructure.erasure import PostgresErasure
from infrastructure.event_store import RecorderEventStore
from infrastructure.files.inspector import ContentChecks
from infrastructure.group_commit import GroupCommitWriter
from infrastructure.instances import Heartbeat, PostgresOpenReplies, keep_alive
from infrastructure.jobs import RedisJobs, ThreadJobs
from infrastructure.known_users import KnownUsers, registered_in
from infrastructure.log_format import use_json_logs
from infrastructure.notices import NoticeListener
from infrastructure.passwords import Argon2Hasher
from infrastructure.postgres import EventRecorder, event_recorder, open_datastore
from infrastructure.prices_file import read_prices
from infrastructure.providers import ProviderTimeouts, build_providers, new_http_client
from infrastructure.providers.http import ProviderClients
from infrastructure.rate_limit import LocalSlidingWindow, RateLimiter, RedisSlidingWindow
from infrastructure.reply_metrics import PrometheusReplyMetrics
from infrastructure.reply_signals import InProcessSignals, RedisSignals
from infrastructure.retention import keep_sweeping
from infrastructure.revocations import (
    AsyncPostgresRevocations,
    NoticedRevocations,
    PostgresRevocations,
)
from infrastructure.settings import Settings
from infrastructure.tokens import JwtTokens, load_or_create_secret
from projections.agents import AgentsProjection
from projections.audit import AuditProjection
from projections.audit_views import AuditViews
from projections.budget_spending import LedgerSpending
from projections.checkpoints import CheckpointWriter
from projections.conversation_views import ConversationViews
from projections.conversations import ConversationsProjection
from projections.files import FilesProjection
from projections.projection import Projection
from projections.runner import POSITIONS, ProjectionRunner, start_threads
from projections.sealer import SCHEMA as SEALS
from projections.sealer import Sealer, start_sealing
from projections.stats import StatsProjection
from projections.stats_views import StatsViews
from projections.usage import UsageProjection
from projections.usage_views import UsageViews
from projections.user_views import UserViews
from projections.users import UsersProjection

log = logging.getLogger("llmchat")

Signals = InProcessSignals | RedisSignals


@dataclass(frozen=True, slots=True)
class Database:
    """Where the container's data lives: a URL, and the embedded server behind it, if any
    (released when the container closes)."""

    url: str
    embedded: EmbeddedPostgres | None = None


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
        UsersProjection(),
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
    recorder: EventRecorder
    schema: list[str]  # the read models' and positions' tables, created by the start step
    store: RecorderEventStore
    keys: PostgresDataKeys
    accounts: Accounts
    redis: redis.Redis | None
    agents: AgentCatalogue
    defined_agents: AgentSet  # the agents file as read, enrolled by the start step
    chat: Chat
    signals: Signals
    writer: GroupCommitWriter
    http: ProviderClients
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
    notices: NoticeListener
    known_users: KnownUsers
    drawings: DxfReader
    callers: Callers
    security_log: SecurityLog
    rate_limits: RateLimits
    stats_views: StatsViews
    usage_views: UsageViews
    audit_views: AuditViews
    user_views: UserViews
    erasing: Erasing
    clock: Clock
    """The time every adapter here was given: the retention sweep and checkpoints take it too."""
    embedded: EmbeddedPostgres | None = None
    stop_workers: threading.Event = field(default_factory=threading.Event)
    version: str = field(default_factory=package_version)
    started_at: float = field(default_factory=time.time)
    closed: bool = False
    heartbeat: Heartbeat | None = None
    take_over: TakeOver = field(init=False)

    def __post_init__(self) -> None:
        self.take_over = TakeOver(self.chat, quiet_for=self.settings.instance_dead_after_seconds)

    @property
    def system_info(self) -> SystemInfo:
        return SystemInfo(self.started_at, self.version, self.settings.environment)

    def start_workers(self) -> list[threading.Thread]:
        """Projection runners and the sealer in this process, until close()."""
        threads = start_threads(self.runner, self.projections, self.stop_workers)
        sealer = sealer_of(self.settings, self.runner.conninfo, self.runner.channel, self.clock)
        return [*threads, start_sealing(sealer, self.stop_workers)]

    def start_jobs(self) -> None:
        """Run jobs in this process (with Redis, also those other processes sent)."""
        self.jobs.start_worker()

    def start_retention(self) -> threading.Thread:
        """Expire idle conversations every few minutes, until close()."""
        return keep_sweeping(
            self.store,
            self.datastore,
            self.keys,
            self.clock,
            self.settings.retention_days,
            self.stop_workers,
        )

    def start_heartbeat(self, serving: bool = True) -> Heartbeat:
        """Say this instance is alive, and take over (serving, with LLMCHAT_TAKEOVER=continue)
        or interrupt the replies of instances that are not."""
        settings = self.settings
        open_replies = PostgresOpenReplies(
            self.datastore, self.store, self.chat.instance_id, settings.instance_dead_after_seconds
        )
        take_over = self.take_over if serving and settings.takeover == "continue" else None
        self.heartbeat = keep_alive(
            self.store, open_replies, self.stop_workers, take_over, settings.heartbeat_seconds
        )
        return self.heartbeat

    async def others_alive(self) -> bool:
        """Whether replies cut short at shutdown may be handed over (see LiveReplies.settle)."""
        heartbeat = self.heartbeat
        if heartbeat is None or self.settings.takeover != "continue":
            return False
        return await to_thread.run_sync(heartbeat.others_alive)

    async def start(self) -> None:
        """The parts that live on the server's event loop."""
        self.take_over.loop = asyncio.get_running_loop()
        await self.signals.start()
        await self.writer.start()
        await self.revocation_check.start()
        await self.notices.start()

    async def stop(self) -> None:
        # Replies first: closing them still needs the writer.
        await self.chat.live.settle(self.settings.shutdown_grace_seconds, self.others_alive)
        if self.heartbeat is not None:
            # Gone from the live instances at once: what was handed over is claimed now.
            await to_thread.run_sync(self.heartbeat.retire)
        await self.writer.stop()
        await self.notices.stop()
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


def default_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url is None:
        return LocalSlidingWindow()
    return RedisSlidingWindow(settings.redis_url, settings.redis_namespace)


def build_container(
    settings: Settings,
    database: Database,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    tokens: TokenService | None = None,
    attempts: AttemptCounter | None = None,
    rate_limiter: RateLimiter | None = None,
    providers: Mapping[str, ChatProvider] | None = None,
    blobs: BlobStore | None = None,
    drawings: DxfReader | None = None,
) -> Container:
    """Everything wired on `database`; each keyword replaces that adapter (in memory,
    failing, slow: tests). Nothing is started or written: see api/start.py."""
    if settings.log_format == "json":
        use_json_logs()
    source = agent_source(settings.agents_file)
    # Read first: a bad agents file stops the start before anything is started or written.
    defined_agents = source.read()
    prices = read_prices(settings.prices_file)
    data_dir = Path(settings.data_dir)
    url = database.url
    datastore = open_datastore(url, settings.db_pool_size)
    clock = clock or SystemClock()
    read_models = projections(prices)
    recorder = event_recorder(datastore)
    keys = PostgresDataKeys(datastore, settings.encryption_key)
    store = RecorderEventStore(recorder, clock, event_cipher(settings, keys), keys)
    client = connect_redis(settings)
    revocation_check = AsyncPostgresRevocations(url)
    revocations = NoticedRevocations(revocation_check)
    budget_index = NoticedBudgets()
    accounts = Accounts(
        store=store,
        hasher=hasher or Argon2Hasher(),
        tokens=tokens or JwtTokens(settings.jwt_secret or partial(load_or_create_secret, data_dir)),
        revocations=PostgresRevocations(
            datastore, noted=revocations.note, noted_cutoff=revocations.note_cutoff
        ),
        attempts=attempts or attempt_counter(client, settings),
        clock=clock,
        refresh_grace=settings.refresh_grace_seconds,
    )
    agents = AgentCatalogue(store)
    live = LiveReplies()
    signals = reply_signals(settings, live)
    writer = GroupCommitWriter(url, store.stamped, keys)
    timeouts = ProviderTimeouts(
        first_byte=settings.provider_first_byte_seconds, read=settings.provider_idle_seconds
    )
    http = new_http_client(timeouts)
    drawings = drawings or DxfReader(drawing_limits(settings))
    files = Files(
        store=store,
        blobs=blobs or blob_store(settings, datastore),
        inspector=ContentChecks(),
        drawings=drawings,
        drawing_results=PostgresDrawingResults(datastore),
    )
    counters = budget_counters(settings.redis_url, settings.redis_namespace)
    budgets = Budgets(store, counters, LedgerSpending(datastore), prices, index=budget_index)
    chat = Chat(
        store=store,
        writer=writer,
        live=live,
        signals=signals,
        agents=agents,
        providers=providers or build_providers(http, timeouts),
        instance_id=str(uuid.uuid4()),
        metrics=PrometheusReplyMetrics(prices),
        attachments=FileAttachments(files),
        budgets=budgets,
        max_continuations=settings.max_continuations,
    )
    api_keys = ApiKeys(store)
    known_users = KnownUsers(registered_in(revocation_check.pool))
    callers = Callers(
        tokens=VerifiedTokens(accounts.tokens),
        api_keys=api_keys,
        revocations=revocations,
        known_users=known_users,
    )
    security_log = SecurityLog(store)
    limiter = rate_limiter or default_rate_limiter(settings)
    return Container(
        settings=settings,
        datastore=datastore,
        recorder=recorder,
        schema=[*POSITIONS, *SEALS, *(statement for p in read_models for statement in p.schema)],
        store=store,
        keys=keys,
        accounts=accounts,
        redis=client,
        agents=agents,
        defined_agents=defined_agents,
        chat=chat,
        signals=signals,
        writer=writer,
        http=http,
        views=ConversationViews(datastore),
        runner=ProjectionRunner(datastore, store, recorder.channel_name, url),
        projections=read_models,
        agent_source=source,
        agent_health=AgentHealth(agents, chat.providers, clock),
        api_keys=api_keys,
        rate_limiter=limiter,
        budgets=budgets,
        files=files,
        jobs=job_runner(settings, JobWork(parse_drawing=partial(parse_drawing_job, files))),
        revocation_check=revocation_check,
        notices=NoticeListener(url, [revocations, budget_index]),
        known_users=known_users,
        drawings=drawings,
        callers=callers,
        security_log=security_log,
        rate_limits=RateLimits(settings, callers, limiter, security_log),
        stats_views=StatsViews(datastore),
        usage_views=UsageViews(datastore),
        audit_views=AuditViews(datastore),
        user_views=UserViews(datastore),
        erasing=Erasing(
            accounts, files, PostgresErasure(datastore, store, keys), UserViews(datastore)
        ),
        clock=clock,
        embedded=database.embedded,
    )


def sealer_of(settings: Settings, conninfo: str, channel: str, clock: Clock) -> Sealer:
    """The sealer, writing checkpoints when a signing key is set."""
    if settings.signing_key is None:
        log.info("checkpoints off: LLMCHAT_SIGNING_KEY is not set")
        return Sealer(conninfo, channel)
    directory = Path(settings.checkpoint_dir or Path(settings.data_dir) / "checkpoints")
    writer = CheckpointWriter(settings.signing_key, directory, settings.checkpoint_minutes, clock)
    return Sealer(conninfo, channel, writer)


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
