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
