"""The replies running in this process, and the queues of the clients following them."""

import asyncio
from collections.abc import Awaitable, Callable

from application.frame_queue import FrameQueue
from application.reply_frames import Frame


class LiveReplies:
    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.listeners: dict[str, set[FrameQueue]] = {}
        self.closing = False
        """Set when the server stops: a reply cut short then is interrupted, not cancelled."""
        self.stopping = False
        """Set when the server starts to stop: it takes over no more replies."""
        self.handing_over = False
        """Set with `closing` when other instances take over the replies cut short: they
        store what they hold and stay open, instead of being interrupted."""

    def listen(self, message_id: str) -> FrameQueue:
        queue = FrameQueue()
        self.listeners.setdefault(message_id, set()).add(queue)
        return queue

    def unlisten(self, message_id: str, queue: FrameQueue) -> None:
        queues = self.listeners.get(message_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.listeners[message_id]

    def publish(self, message_id: str, frame: Frame) -> None:
        for queue in self.listeners.get(message_id, ()):
            queue.put_nowait(frame)

    def behind(self, message_id: str) -> bool:
        """Whether a follower of the reply has frames it has not yet taken."""
        return any(not queue.empty() for queue in self.listeners.get(message_id, ()))

    def is_live(self, message_id: str) -> bool:
        return message_id in self.tasks

    def run(self, message_id: str, task: "asyncio.Task[None]") -> None:
        """Count the reply as running here until its task ends: it may be cancelled, and it
        is waited for at shutdown."""
        self.tasks[message_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(message_id, None))

    async def settle(
        self, within: float, hand_over: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        """Let running replies finish for up to `within` seconds, then close the rest as
        interrupted: what they stored stays, and a client resuming them gets their end.
        When `hand_over` says so (other instances are alive), the rest are left open for
        those to take over instead: a rolling restart cuts no reply."""
        self.stopping = True
        running = set(self.tasks.values())
        if running:
            await asyncio.wait(running, timeout=within)
        self.handing_over = bool(self.tasks) and hand_over is not None and await hand_over()
        self.closing = True
        for task in self.tasks.values():
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks.values()), timeout=5)

    def cancel(self, message_id: str) -> bool:
        """Cancel the reply if it runs here; True if it did."""
        task = self.tasks.get(message_id)
        if task is None:
            return False
        task.cancel()
        return True
