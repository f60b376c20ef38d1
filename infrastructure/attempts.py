"""Failure counters for sign-in throttling: in Redis when configured, else in this process."""

import logging
import threading
import time

import redis

log = logging.getLogger(__name__)


class RedisAttempts:
    """Fixed windows in Redis, shared by every API instance.

    If Redis is unreachable the counters fail open (no throttling) and say so in the log:
    refusing every sign-in while Redis is down would lock out everyone, attacker or not.
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def failures(self, key: str) -> tuple[int, int]:
        try:
            pipe = self.client.pipeline()
            pipe.get(self.key(key))
            pipe.ttl(self.key(key))
            count, ttl = pipe.execute()
        except redis.RedisError:
            log.warning("sign-in throttling skipped: Redis unavailable")
            return 0, 0
        return int(count or 0), max(int(ttl), 0)

    def record_failure(self, key: str, window: int) -> int:
        try:
            pipe = self.client.pipeline()
            pipe.set(self.key(key), 0, ex=window, nx=True)
            pipe.incr(self.key(key))
            _, count = pipe.execute()
        except redis.RedisError:
            log.warning("sign-in failure not counted: Redis unavailable")
            return 0
        return int(count)

    def clear(self, key: str) -> None:
        try:
            self.client.delete(self.key(key))
        except redis.RedisError:
            log.warning("sign-in counter not cleared: Redis unavailable")


class InMemoryAttempts:
    def __init__(self) -> None:
        self.windows: dict[str, tuple[int, float]] = {}
        self.lock = threading.Lock()

    def failures(self, key: str) -> tuple[int, int]:
        with self.lock:
            count, ends = self.windows.get(key, (0, 0.0))
        remaining = ends - time.monotonic()
        return (count, int(remaining) + 1) if remaining > 0 else (0, 0)

    def record_failure(self, key: str, window: int) -> int:
        with self.lock:
            count, ends = self.windows.get(key, (0, 0.0))
            if ends <= time.monotonic():
                count, ends = 0, time.monotonic() + window
            self.windows[key] = (count + 1, ends)
            return count + 1

    def clear(self, key: str) -> None:
        with self.lock:
            self.windows.pop(key, None)
