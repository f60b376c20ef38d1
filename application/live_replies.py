"""The replies running in this process, and the queues of the clients following them."""

import asyncio

from application.frame_queue import FrameQueue
from application.reply_frames import Frame


class LiveReplies:
    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.listeners: dict[str, set[FrameQueue]] = {}
        self.closing = False
        """Set when the server stops: a reply cut short then is interrupted, not cancelled."""

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

    async def settle(self, within: float) -> None:
        """Let running replies finish for up to `within` seconds, then close the rest as
        interrupted: what they stored stays, and a client resuming them gets their end."""
        running = set(self.tasks.values())
        if running:
            await asyncio.wait(running, timeout=within)
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
