"""Prometheus metrics: the objects any layer may update, and the text `GET /metrics` serves.

Update them where the thing happens:

    from infrastructure import metrics

    metrics.ACTIVE_STREAMS.inc()        # a reply stream opened; .dec() when it closes
    metrics.TIME_TO_FIRST_CHUNK.labels(provider="openai").observe(seconds)
    metrics.PROVIDER_ERRORS.labels(provider="anthropic", kind="timeout").inc()
    metrics.JOB_QUEUE_DEPTH.labels(queue="default").set(depth)
    metrics.TOKENS.labels(agent="a", model="m", kind="prompt").inc(tokens)
    with metrics.EVENT_STORE_APPEND.time(): ...

HTTP requests are counted by api/metrics.py; event-store appends by RecorderEventStore;
projection lag and quarantined events are read from `llmchat_projection_positions` and
`llmchat_projection_quarantine` at scrape time, so they are right whichever process runs the
projections.

Several processes on one machine: start every one of them with `PROMETHEUS_MULTIPROC_DIR`
naming one empty directory (clear it at each deploy). Each process then writes its samples
there and any process's /metrics serves the sum (gauges as documented per gauge below).
Without it each process counts only its own requests: scrape each process on its own.
"""

import logging
import os
from collections.abc import Iterator

from eventsourcing.postgres import PostgresDatastore
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# The classic text format, which every Prometheus server and parser reads (the web
# framework appends the charset).
CONTENT_TYPE = "text/plain; version=0.0.4"

HTTP_REQUESTS = Counter(
    "llmchat_http_requests_total",
    "HTTP requests answered, by route template (not the raw path) and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "llmchat_http_request_duration_seconds",
    "Time until the response starts (an SSE stream counts its time to start, not its length).",
    ["method", "route"],
)
ACTIVE_STREAMS = Gauge(
    "llmchat_active_streams",
    "Reply streams being served right now (summed over live processes).",
    multiprocess_mode="livesum",
)
TIME_TO_FIRST_CHUNK = Histogram(
    "llmchat_time_to_first_chunk_seconds",
    "From sending a request to a provider until its first chunk arrives.",
    ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
PROVIDER_ERRORS = Counter(
    "llmchat_provider_errors_total",
    "Failed provider calls, by provider and kind (timeout, status, protocol, ...).",
    ["provider", "kind"],
)
PROVIDER_FALLBACKS = Counter(
    "llmchat_provider_fallbacks_total",
    "Replies handed to a fallback agent after the one asked failed before its first word.",
    ["from_agent", "to_agent", "reason"],
)
EVENT_STORE_APPEND = Histogram(
    "llmchat_event_store_append_seconds",
    "One atomic append to the event store (one transaction, any number of events).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5),
)
JOB_QUEUE_DEPTH = Gauge(
    "llmchat_job_queue_depth",
    "Jobs waiting in a queue (the most recent value any process reported).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
TOKENS = Counter(
    "llmchat_tokens_total",
    "Tokens of finished replies, by agent, model and kind (prompt, completion, cached;"
    " cached tokens are part of the prompt's).",
    ["agent", "model", "kind"],
)
COST = Counter(
    "llmchat_cost_total",
    "Cost of finished replies in the price file's currency, at the price of the day"
    " (the usage ledger, GET /api/admin/usage, is the record; this is for dashboards).",
    ["agent", "model"],
)
BUDGET_STORE_FAILURES = Counter(
    "llmchat_budget_store_failures_total",
    "Budget reservations and settlements that could not reach Redis (counted in-process).",
)
RATE_LIMIT_STORE_FAILURES = Counter(
    "llmchat_rate_limit_store_failures_total",
    "Rate-limit checks that could not reach Redis and fell back to this process's counts.",
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


LAG = """SELECT p.name, h.head - p.position AS behind, p.lag_ms,
    (SELECT count(*) FROM llmchat_projection_quarantine q WHERE q.name = p.name) AS quarantined
    FROM llmchat_projection_positions p,
    (SELECT COALESCE(MAX(notification_id), 0) AS head FROM llmchat_events) h"""


class ProjectionLag(Collector):
    """How many events each projection is behind the head of the log, read when scraped."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "llmchat_projection_lag_events",
            "Events appended to the log that a projection has not applied yet.",
            labels=["projection"],
        )
        try:
            with self.datastore.get_connection() as conn:
                rows = conn.execute(LAG).fetchall()
        except Exception as error:  # no projections yet, or the database is away: no sample
            log.warning("projection lag not read: %s: %s", type(error).__name__, error)
            rows = []
        # Measured by the runner as it commits: from the append of a batch's last event to
        # its being visible in the read model (llmchat_projection_positions.lag_ms).
        delay = GaugeMetricFamily(
            "llmchat_projection_lag_milliseconds",
            "Append-to-visible time of the last batch each projection applied.",
            labels=["projection"],
        )
        quarantined = GaugeMetricFamily(
            "llmchat_projection_quarantined_events",
            "Events a projection could not apply and set aside (llmchat projections status).",
            labels=["projection"],
        )
        for row in rows:  # the datastore's connections return rows as dicts
            family.add_metric([str(row["name"])], max(int(row["behind"]), 0))
            if row["lag_ms"] is not None:
                delay.add_metric([str(row["name"])], float(row["lag_ms"]))
            quarantined.add_metric([str(row["name"])], int(row["quarantined"]))
        yield family
        yield delay
        yield quarantined


def exposition(datastore: PostgresDatastore | None) -> bytes:
    """The text for one scrape: this process's (or every process's) samples, and the lag."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if datastore is not None:
        scraped = CollectorRegistry()
        scraped.register(ProjectionLag(datastore))
        text += generate_latest(scraped)
    return text


def forget_this_process() -> None:
    """At shutdown in multiprocess mode: drop this process's live gauges from the sums."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
