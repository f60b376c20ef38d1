"""/health and /health/detailed: public, real checks, 503 when the database is unreachable."""

from typing import Any

from anyio import to_thread
from eventsourcing.postgres import PostgresDatastore
from litestar import Controller, Response, get
from redis import Redis

from api.dependencies import DatastoreDep, JobsDep, RedisDep, SystemDep
from api.envelope import now
from application.jobs import Jobs
from infrastructure.health import check_database, check_projections, check_queue, check_redis


def overall(database: dict[str, Any], redis: dict[str, Any]) -> tuple[str, int]:
    if database["status"] != "connected":
        return "unhealthy", 503
    if redis["status"] == "disconnected":
        return "degraded", 200
    return "healthy", 200


# /health's `services` speak of connections (the spec's words there); /health/detailed's checks
# say how healthy each one is, as its top-level status does.
HEALTH_OF = {
    "connected": "healthy",
    "in-process": "healthy",  # no Redis configured: the in-process stand-ins are the design
    "running": "healthy",
    "disconnected": "unhealthy",
    "stopped": "unhealthy",
}


def assessed(check: dict[str, Any]) -> dict[str, Any]:
    return {**check, "status": HEALTH_OF.get(check["status"], "degraded")}


def megabytes(memory: dict[str, int]) -> dict[str, str]:
    """As the spec writes them: "10MB"."""
    return {key: f"{value / 1_048_576:.0f}MB" for key, value in memory.items()}


async def run_checks(
    datastore: PostgresDatastore, redis_client: Redis | None, jobs: Jobs
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    database = await to_thread.run_sync(check_database, datastore)
    redis = await to_thread.run_sync(check_redis, redis_client)
    queue = await to_thread.run_sync(check_queue, jobs)
    return database, redis, queue


class HealthController(Controller):
    path = "/health"

    @get("/")
    async def health(
        self, datastore: DatastoreDep, redis_client: RedisDep, jobs: JobsDep, system: SystemDep
    ) -> Response[dict[str, Any]]:
        database, redis, queue = await run_checks(datastore, redis_client, jobs)
        status, code = overall(database, redis)
        services = {
            "database": database["status"],
            "redis": redis["status"],
            "queue": queue["status"],
        }
        body = {
            "status": status,
            "timestamp": now(),
            "services": services,
            "version": system.version,
        }
        return Response(body, status_code=code)

    @get("/detailed")
    async def detailed(
        self, datastore: DatastoreDep, redis_client: RedisDep, jobs: JobsDep
    ) -> Response[dict[str, Any]]:
        database, redis, queue = await run_checks(datastore, redis_client, jobs)
        projections = await to_thread.run_sync(check_projections, datastore)
        status, code = overall(database, redis)
        if status == "healthy" and projections["status"] == "degraded":
            status = "degraded"  # a read model lacks what its quarantined events say
        checks = {
            "database": assessed(database),
            "redis": {**assessed(redis), "memory": megabytes(redis["memory"])},
            "queue": assessed(queue),
            # Already in the words above: healthy, degraded (events quarantined), unhealthy.
            "projections": projections,
        }
        body = {"status": status, "timestamp": now(), "checks": checks}
        return Response(body, status_code=code)
