"""What the Redis counters (rate limits, budgets) share: their scripts on a client per
event loop, and what they do while Redis fails.

redis.asyncio clients belong to the event loop that made them; tests drive one app from
several loops, so each loop gets its own client. While Redis fails, a counter uses this
process's own counts for a few seconds before trying it again, counts each failure and
says so in the log at most once a minute: refusing everyone would turn a cache outage into
a full outage.
"""

import asyncio
import logging
import math
import time
from typing import Any

import redis.asyncio
from prometheus_client import Counter

log = logging.getLogger(__name__)

# While Redis is failing, how long to count in this process before trying it again.
REDIS_RETRY_SECONDS = 5.0
# A request must not wait long on a sick Redis: half a second, then local counts.
REDIS_TIMEOUT_SECONDS = 0.5
# Connections per process and loop; a request waits for one at most REDIS_TIMEOUT_SECONDS.
MAX_CONNECTIONS = 32


class RedisScripts:
    def __init__(self, url: str, scripts: dict[str, str], what: str, failures: Counter) -> None:
        self.url = url
        self.sources = scripts
        self.what = what
        self.failures = failures
        self.clients: dict[asyncio.AbstractEventLoop, tuple[redis.asyncio.Redis, Any]] = {}
        self.back_at = 0.0
        self.warned_at = -math.inf

    def script(self, name: str) -> Any:
        loop = asyncio.get_running_loop()
        if loop not in self.clients:
            # A bounded pool: a burst of requests takes turns on a few connections instead
            # of opening one each (redis-py reads its package metadata from disk for every
            # new connection; a burst of 128 chats stalled the event loop on it).
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=MAX_CONNECTIONS,
                timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            client = redis.asyncio.Redis.from_pool(pool)
            registered = {n: client.register_script(s) for n, s in self.sources.items()}
            self.clients[loop] = (client, registered)
        return self.clients[loop][1][name]

    @property
    def down(self) -> bool:
        return time.monotonic() < self.back_at

    def failed(self, error: Exception) -> None:
        self.failures.inc()
        now = time.monotonic()
        self.back_at = now + REDIS_RETRY_SECONDS
        if now - self.warned_at >= 60:
            self.warned_at = now
            log.warning(
                "%s: Redis unavailable (%s: %s); counting in this process for now",
                self.what,
                type(error).__name__,
                error,
            )

    async def aclose(self) -> None:
        entry = self.clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[0].aclose()
