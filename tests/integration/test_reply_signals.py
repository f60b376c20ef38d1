"""Reply signals over Redis: stopping them always ends, however soon after they started."""

import asyncio

import uvloop

from infrastructure.reply_signals import RedisSignals
from tests.conftest import REDIS_URL


async def stops_within(signals: RedisSignals, seconds: float) -> bool:
    stopping = asyncio.ensure_future(signals.stop())
    done, _ = await asyncio.wait({stopping}, timeout=seconds)
    return bool(done)


def test_stop_right_after_start_ends_the_reader(redis_namespace):
    # A server whose port was taken stopped its signals a few milliseconds after starting
    # them; under uvicorn's loop (uvloop) the reader sometimes outlived the one cancel and
    # the process never exited.
    async def start_and_stop_repeatedly() -> list[float]:
        hung = []
        for attempt in range(60):
            signals = RedisSignals(REDIS_URL, f"{redis_namespace}:signals", lambda _: False)
            await signals.start()
            delay = (attempt % 20) / 1000
            await asyncio.sleep(delay)
            if not await stops_within(signals, 3):
                hung.append(delay)
                break  # the rest of the run would only wait longer
        return hung

    assert uvloop.run(start_and_stop_repeatedly()) == []


async def test_announcements_of_one_turn_reach_another_instance_in_one_publish(redis_namespace):
    namespace = f"{redis_namespace}:batched"
    here = RedisSignals(REDIS_URL, namespace, lambda _: False)
    there = RedisSignals(REDIS_URL, namespace, lambda _: False)
    await here.start()
    await there.start()
    try:
        await asyncio.sleep(0.2)  # the other instance's reader has subscribed
        published: list[bytes] = []
        publish = here.client.publish

        async def counted(channel: str, message: bytes) -> int:
            published.append(message)
            return await publish(channel, message)

        here.client.publish = counted  # type: ignore[method-assign,assignment]
        waiting = [asyncio.ensure_future(there.waiters.wait(i, 5.0)) for i in ("a", "b", "c")]
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        for message_id in ("a", "b", "c", "a"):
            await here.announce(message_id)
        await asyncio.wait_for(asyncio.gather(*waiting), 5.0)
        assert asyncio.get_running_loop().time() - started < 2.0, "woken, not timed out"
        assert len(published) == 1
        assert sorted(published[0].decode().split()) == ["a", "b", "c"]
    finally:
        await here.stop()
        await there.stop()
