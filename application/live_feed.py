"""One client's view of a reply running in this process: its frames, first to final."""

from collections.abc import AsyncIterator

from application.live_replies import LiveReplies
from application.reply_frames import Frame


class LiveFeed:
    def __init__(self, live: LiveReplies, message_id: str) -> None:
        self.live = live
        self.message_id = message_id
        self.queue = live.listen(message_id)

    def close(self) -> None:
        self.live.unlisten(self.message_id, self.queue)

    async def next(self) -> Frame:
        """The next frame; stops listening if the wait is abandoned."""
        try:
            return await self.queue.get()
        except BaseException:
            self.close()
            raise

    async def frames(self, first: Frame) -> AsyncIterator[Frame]:
        """`first`, then the frames after it up to the final one; stops listening after."""
        yield first
        async for frame in self.after(first):
            yield frame

    async def after(self, first: Frame) -> AsyncIterator[Frame]:
        """The frames after `first` up to the final one; stops listening after."""
        try:
            frame = first
            while not frame.final:
                frame = await self.queue.get()
                yield frame
        finally:
            self.close()

    async def final(self, first: Frame) -> Frame:
        """The final frame, waiting through the others; stops listening after."""
        last = first
        async for frame in self.frames(first):
            last = frame
        return last
