"""One follower's frames, in order, as they are published in this process."""

import asyncio

from application.reply_frames import Frame


class FrameQueue:
    """Lighter than asyncio.Queue (a short list and a waiter, against three deques and an
    Event): a follower may hold one for a long reply, and a server holds a thousand
    followers."""

    __slots__ = ("frames", "waiter")

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, frame: Frame) -> None:
        self.frames.append(frame)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self) -> bool:
        return not self.frames

    def get_nowait(self) -> Frame:
        return self.frames.pop(0)

    async def get(self) -> Frame:
        while not self.frames:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.frames.pop(0)
