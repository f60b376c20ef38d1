"""Sliding-window rate limits: one atomic Lua script in Redis, or the same in this process.

Each key keeps the times of the requests it was allowed within the last window (a sorted
set in Redis). A request is allowed while fewer than `limit` lie within the window; a
refused request is not counted, so a client that waits gets back in as old ones age out.
The script reads Redis's own clock, so API instances with skewed clocks still agree.

If Redis cannot be reached, checks fall back to this process's own windows (so each
instance enforces the limit on its own share of traffic), counted by a metric and logged;
Redis is tried again a few seconds later. Refusing everyone while Redis is down would turn
a cache outage into a full outage; not limiting at all would leave the API unprotected.
"""

import itertools
import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import redis
import redis.asyncio

from infrastructure import metrics
from infrastructure.redis_scripts import RedisScripts

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60

SLIDING_WINDOW = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
local first_refusal = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
  allowed = 1
elseif redis.call('SET', KEYS[2], '1', 'NX', 'PX', window) then
  first_refusal = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local frees_in = 0
local clears_in = 0
if oldest[2] then frees_in = tonumber(oldest[2]) + window - now end
if newest[2] then clears_in = tonumber(newest[2]) + window - now end
return {allowed, count, frees_in, clears_in, first_refusal}
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until every counted request has left the window
    retry_after: int  # seconds until one more request would be allowed; 0 when allowed
    first_refusal: bool  # the first refusal of this key in this window: worth auditing

    @classmethod
    def of(
        cls,
        allowed: bool,
        limit: int,
        count: int,
        frees_in_ms: float,
        clears_in_ms: float,
        first_refusal: bool,
    ) -> "RateDecision":
        return cls(
            allowed=allowed,
            limit=limit,
            remaining=max(limit - count, 0),
            reset_after=max(math.ceil(clears_in_ms / 1000), 0),
            retry_after=0 if allowed else max(math.ceil(frees_in_ms / 1000), 1),
            first_refusal=first_refusal,
        )


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int) -> RateDecision:
        """Count one request against `key` if it is within `limit` per window."""
        ...

    async def aclose(self) -> None: ...


class LocalSlidingWindow:
    """The same windows in this process: for no Redis, and as the fallback when it is down."""

    def __init__(self, window: int = WINDOW_SECONDS) -> None:
        self.window = window
        self.allowed: dict[str, deque[float]] = {}
        self.refused_until: dict[str, float] = {}
        self.lock = threading.Lock()
        self.next_sweep = 0.0

    async def hit(self, key: str, limit: int) -> RateDecision:
        return self.hit_now(key, limit, time.monotonic())

    def hit_now(self, key: str, limit: int, now: float) -> RateDecision:
        with self.lock:
            self.sweep(now)
            times = self.allowed.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            allowed = len(times) < limit
            first_refusal = False
            if allowed:
                times.append(now)
            elif self.refused_until.get(key, 0.0) <= now:
                self.refused_until[key] = now + self.window
                first_refusal = True
            frees_in = (times[0] + self.window - now) * 1000 if times else 0.0
            clears_in = (times[-1] + self.window - now) * 1000 if times else 0.0
            return RateDecision.of(allowed, limit, len(times), frees_in, clears_in, first_refusal)

    def sweep(self, now: float) -> None:
        """Forget keys idle for a whole window, so memory follows active clients only."""
        if now < self.next_sweep:
            return
        self.next_sweep = now + self.window
        idle = [
            k for k, times in self.allowed.items() if not times or times[-1] <= now - self.window
        ]
        for key in idle:
            del self.allowed[key]
        for key in [k for k, until in self.refused_until.items() if until <= now]:
            del self.refused_until[key]

    async def aclose(self) -> None:
        return None


class RedisSlidingWindow:
    """Windows in Redis, shared by every API instance: one script call per request."""

    def __init__(
        self,
        url: str,
        namespace: str,
        window: int = WINDOW_SECONDS,
        fallback: LocalSlidingWindow | None = None,
    ) -> None:
        self.namespace = namespace
        self.window = window
        self.fallback = fallback or LocalSlidingWindow(window)
        failures = metrics.RATE_LIMIT_STORE_FAILURES
        self.redis = RedisScripts(url, {"window": SLIDING_WINDOW}, "rate limits", failures)
        self.members = itertools.count()
        self.member_prefix = f"{os.getpid()}.{os.urandom(4).hex()}."

    def keys(self, key: str) -> list[str]:
        # The braces are a Redis Cluster hash tag: both keys of one client in one slot.
        base = f"{self.namespace}:ratelimit:{{{key}}}"
        return [base, base + ":refused"]

    async def hit(self, key: str, limit: int) -> RateDecision:
        if self.redis.down:
            return await self.fallback.hit(key, limit)
        member = self.member_prefix + str(next(self.members))
        try:
            script = self.redis.script("window")
            reply = await script(keys=self.keys(key), args=[limit, self.window * 1000, member])
        except (redis.RedisError, OSError, TimeoutError) as error:
            self.redis.failed(error)
            return await self.fallback.hit(key, limit)
        allowed, count, frees_in, clears_in, first_refusal = (int(v) for v in reply)
        return RateDecision.of(
            bool(allowed), limit, count, frees_in, clears_in, bool(first_refusal)
        )

    async def aclose(self) -> None:
        await self.redis.aclose()
