"""Sign-in attempt counters: in Redis when configured, else in this process.

An attempt is reserved before its password is checked, atomically against every key it
counts for (the account and the client address): checking first and counting after let
concurrent guesses all pass the check while the counters still read low.
"""

import logging
import threading
import time
from collections.abc import Sequence

import redis

log = logging.getLogger(__name__)

# KEYS: the counters; ARGV[1]: the window in seconds, ARGV[2..]: each key's limit.
# Returns 0 when one attempt was counted on every key, else the seconds until the first
# full key's window ends (and nothing is counted). A fixed window: it starts with the
# key's first attempt and is not extended by later ones.
RESERVE = """
for i, key in ipairs(KEYS) do
    local count = tonumber(redis.call('GET', key) or '0')
    if count >= tonumber(ARGV[i + 1]) then
        local ttl = redis.call('TTL', key)
        if ttl < 1 then ttl = 1 end
        return ttl
    end
end
for _, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then
        redis.call('EXPIRE', key, ARGV[1])
    end
end
return 0
"""
# Takes one attempt back, unless the window has ended meanwhile (no key: nothing to take).
RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
    redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisAttempts:
    """Fixed windows in Redis, shared by every API instance.

    If Redis is unreachable the counters fail open (no throttling) and say so in the log:
    refusing every sign-in while Redis is down would lock out everyone, attacker or not.
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.reserve_script = client.register_script(RESERVE)
        self.release_script = client.register_script(RELEASE)

    def key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def reserve(self, limits: Sequence[tuple[str, int]], window: int) -> int:
        keys = [self.key(key) for key, _ in limits]
        try:
            wait = self.reserve_script(keys=keys, args=[window, *(n for _, n in limits)])
        except redis.RedisError:
            log.warning("sign-in throttling skipped: Redis unavailable")
            return 0
        return int(wait)

    def release(self, key: str) -> None:
        try:
            self.release_script(keys=[self.key(key)])
        except redis.RedisError:
            log.warning("sign-in attempt not released: Redis unavailable")

    def clear(self, key: str) -> None:
        try:
            self.client.delete(self.key(key))
        except redis.RedisError:
            log.warning("sign-in counter not cleared: Redis unavailable")


class InMemoryAttempts:
    def __init__(self) -> None:
        self.windows: dict[str, tuple[int, float]] = {}
        self.lock = threading.Lock()

    def current(self, key: str, now: float) -> tuple[int, float]:
        count, ends = self.windows.get(key, (0, 0.0))
        return (count, ends) if ends > now else (0, 0.0)

    def reserve(self, limits: Sequence[tuple[str, int]], window: int) -> int:
        now = time.monotonic()
        with self.lock:
            for key, limit in limits:
                count, ends = self.current(key, now)
                if count >= limit:
                    return max(int(ends - now) + 1, 1)
            for key, _ in limits:
                count, ends = self.current(key, now)
                self.windows[key] = (count + 1, ends or now + window)
        return 0

    def release(self, key: str) -> None:
        now = time.monotonic()
        with self.lock:
            count, ends = self.current(key, now)
            if count > 0:
                self.windows[key] = (count - 1, ends)

    def clear(self, key: str) -> None:
        with self.lock:
            self.windows.pop(key, None)
