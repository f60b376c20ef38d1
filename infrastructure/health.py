"""Real checks behind /health: a database round trip and pool counts, Redis, the job queue,
and the events the projections quarantined."""

import time
from typing import Any

import redis
from eventsourcing.postgres import PostgresDatastore

from application.jobs import Jobs
from infrastructure import metrics
from infrastructure.jobs import QUEUE

CHECK_TIMEOUT = 2.0


def millis_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def check_database(datastore: PostgresDatastore) -> dict[str, Any]:
    pool = datastore.pool
    stats = pool.get_stats()
    size = stats.get("pool_size", 0)
    idle = stats.get("pool_available", 0)
    connections = {"active": size - idle, "idle": idle, "total": size}
    start = time.perf_counter()
    try:
        pool.open(wait=False)
        with pool.connection(timeout=CHECK_TIMEOUT) as conn:
            conn.execute("SELECT 1").fetchone()
    except Exception as error:  # any failure here means "not usable now"
        return {
            "status": "disconnected",
            "responseTime": millis_since(start),
            "connections": connections,
            "error": type(error).__name__,
        }
    return {"status": "connected", "responseTime": millis_since(start), "connections": connections}


QUARANTINED = "SELECT name, count(*) AS n FROM llmchat_projection_quarantine GROUP BY name"


def check_projections(datastore: PostgresDatastore) -> dict[str, Any]:
    """Degraded while any projection holds an event it could not apply: its read model
    lacks that event's effect until a fix and a rebuild (`llmchat projections status`)."""
    try:
        with datastore.pool.connection(timeout=CHECK_TIMEOUT) as conn:
            rows = conn.execute(QUARANTINED).fetchall()
    except Exception as error:  # the database check says why; this one only cannot tell
        return {"status": "unhealthy", "quarantined": None, "error": type(error).__name__}
    # The pool's connections answer rows as dicts.
    by_projection = {str(row["name"]): int(row["n"]) for row in rows}
    total = sum(by_projection.values())
    return {
        "status": "degraded" if total else "healthy",
        "quarantined": total,
        "quarantinedByProjection": by_projection,
    }


def check_redis(client: redis.Redis | None) -> dict[str, Any]:
    if client is None:
        return {"status": "in-process", "responseTime": 0.0, "memory": {"used": 0, "total": 0}}
    start = time.perf_counter()
    try:
        client.ping()
        info = client.info("memory")
    except redis.RedisError as error:
        return {
            "status": "disconnected",
            "responseTime": millis_since(start),
            "memory": {"used": 0, "total": 0},
            "error": type(error).__name__,
        }
    memory = {
        "used": int(info.get("used_memory", 0)),
        "total": int(info.get("maxmemory", 0)) or int(info.get("total_system_memory", 0)),
    }
    return {"status": "connected", "responseTime": millis_since(start), "memory": memory}


def check_queue(jobs: Jobs) -> dict[str, Any]:
    """The job queue as its runner sees it: Dramatiq's keys in Redis, or this process's pool."""
    state = jobs.queue_state()
    if state.running:
        metrics.JOB_QUEUE_DEPTH.labels(queue=QUEUE).set(state.waiting)
    counts = {"waiting": state.waiting, "active": state.active, "completed": state.completed}
    return {"status": "running" if state.running else "stopped", "jobs": counts}
