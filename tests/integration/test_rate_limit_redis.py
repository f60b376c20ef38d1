"""The Redis sliding window: atomic under concurrency, shared, and safe when Redis is away."""

import asyncio
import uuid

from infrastructure import metrics
from infrastructure.rate_limit import RedisSlidingWindow
from tests.conftest import REDIS_URL


def limiter(redis_namespace, **kwargs):
    return RedisSlidingWindow(REDIS_URL, f"{redis_namespace}:{uuid.uuid4().hex[:6]}", **kwargs)


async def test_concurrent_hits_from_two_limiters_share_one_exact_count(redis_namespace):
    first = limiter(redis_namespace)
    second = RedisSlidingWindow(REDIS_URL, first.namespace)  # another instance, same Redis
    # Interleaved, 16 in flight: 120 new connections at once time out on a loaded machine,
    # and a limiter that cannot reach Redis counts in its own process (by design).
    in_flight = asyncio.Semaphore(16)

    async def hit(side: RedisSlidingWindow):
        async with in_flight:
            return await side.hit("user:x", 50)

    decisions = await asyncio.gather(*(hit(side) for _ in range(60) for side in (first, second)))
    assert sum(d.allowed for d in decisions) == 50
    refused = [d for d in decisions if not d.allowed]
    assert sum(d.first_refusal for d in refused) == 1
    assert all(d.retry_after >= 1 and d.remaining == 0 for d in refused)
    await first.aclose()
    await second.aclose()


async def test_the_window_slides_in_redis(redis_namespace):
    window = limiter(redis_namespace, window=1)
    assert [(await window.hit("k", 2)).allowed for _ in range(3)] == [True, True, False]
    await asyncio.sleep(1.05)
    assert (await window.hit("k", 2)).allowed
    await window.aclose()


async def test_without_redis_the_process_keeps_limiting_and_says_so():
    before = metrics.RATE_LIMIT_STORE_FAILURES._value.get()
    # Nothing listens on port 9: the connection is refused at once.
    window = RedisSlidingWindow("redis://127.0.0.1:9/0", "nowhere")
    decisions = [await window.hit("k", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert metrics.RATE_LIMIT_STORE_FAILURES._value.get() == before + 1  # then it waits
    await window.aclose()
