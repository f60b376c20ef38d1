"""Signals between API instances: "reply X has new stored frames" and "cancel reply X".

The frames themselves are always read from the event store; a signal only says when to
look, so a lost one costs at most the followers' poll interval, never a frame. Through
Redis pub/sub when configured, else within this process.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("llmchat.signals")

RECANCEL_AFTER = 0.1  # seconds a cancelled reader gets before it is cancelled again
STOP_WITHIN = 5.0


class Waiters:
    """Local tasks waiting for news of a reply."""

    def __init__(self) -> None:
        self.events: dict[str, set[asyncio.Event]] = {}

    async def wait(self, message_id: str, within: float) -> None:
        event = asyncio.Event()
        self.events.setdefault(message_id, set()).add(event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), within)
        finally:
            waiting = self.events.get(message_id, set())
            waiting.discard(event)
            if not waiting:
                self.events.pop(message_id, None)

    def wake(self, message_id: str) -> None:
        for event in self.events.get(message_id, ()):
            event.set()


class InProcessSignals:
    def __init__(self, cancel_local: Callable[[str], bool]) -> None:
        self.waiters = Waiters()
        self.cancel_local = cancel_local

    async def announce(self, message_id: str) -> None:
        self.waiters.wake(message_id)

    async def wait(self, message_id: str, within: float) -> None:
        await self.waiters.wait(message_id, within)

    async def request_cancel(self, message_id: str) -> None:
        self.cancel_local(message_id)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisSignals:
    def __init__(self, url: str, namespace: str, cancel_local: Callable[[str], bool]) -> None:
        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.replies_channel = f"{namespace}:replies"
        self.cancel_channel = f"{namespace}:cancel"
        self.waiters = Waiters()
        self.cancel_local = cancel_local
        self.reader: asyncio.Task[None] | None = None
        self.unannounced: set[str] = set()
        self.publisher: asyncio.Future[None] | None = None

    async def announce(self, message_id: str) -> None:
        """Wake this process's followers now; other instances' with the next publish, which
        carries every reply announced since the last one (one message, not one per frame:
        at 128 streams a publish per frame took an eighth of the API's time)."""
        self.waiters.wake(message_id)
        self.unannounced.add(message_id)
        if self.publisher is None:
            self.publisher = asyncio.ensure_future(self.publish_announced())

    async def publish_announced(self) -> None:
        try:
            await asyncio.sleep(0)  # what else this turn of the loop announces goes too
            while self.unannounced:
                announced, self.unannounced = self.unannounced, set()
                await self.client.publish(self.replies_channel, " ".join(announced).encode())
        except RedisError as error:
            self.unannounced.clear()
            log.debug("announce skipped, Redis unavailable: %s", error)
        finally:
            self.publisher = None

    async def wait(self, message_id: str, within: float) -> None:
        await self.waiters.wait(message_id, within)

    async def request_cancel(self, message_id: str) -> None:
        if self.cancel_local(message_id):
            return
        try:
            await self.client.publish(self.cancel_channel, message_id.encode())
        except RedisError as error:
            log.warning("cancel not forwarded, Redis unavailable: %s", error)

    async def start(self) -> None:
        self.reader = asyncio.create_task(self.read_forever())

    async def stop(self) -> None:
        if self.reader is not None:
            await cancel_until_done(self.reader)
        await self.client.aclose()

    async def read_forever(self) -> None:
        while True:
            try:
                await self.read()
            except (RedisError, OSError) as error:
                log.warning("reply signals paused, Redis unavailable: %s", error)
                await asyncio.sleep(1)

    async def read(self) -> None:
        async with self.client.pubsub() as pubsub:
            await pubsub.subscribe(self.replies_channel, self.cancel_channel)
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message is not None:
                    self.dispatch(message["channel"].decode(), message["data"])

    def dispatch(self, channel: str, data: bytes) -> None:
        if channel == self.cancel_channel:
            self.cancel_local(data.decode())
        elif channel == self.replies_channel:
            for message_id in data.decode().split():
                self.waiters.wake(message_id)


async def cancel_until_done(task: asyncio.Task[None]) -> None:
    """redis-py's pub/sub can absorb a cancellation that lands while it sets up (seen under
    uvloop a few milliseconds after start): the reader would read on and the shutdown that
    awaits it never end. Cancel again until it has ended, within a bound."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_WITHIN
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_AFTER)
    if not task.done():
        log.warning("reply signals reader did not stop within %.0fs", STOP_WITHIN)
        return
    with contextlib.suppress(asyncio.CancelledError):
        await task
