"""FollowReply: the frames of a reply after a given id, then its live tail until it ends.

Works on any instance: frames come from the event store, so none is lost or repeated;
on the instance running the reply they also arrive straight from it, and elsewhere a
signal (or, failing that, a short poll) says when to read the store again. Each read asks
only for the events after the last one read.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

from anyio import to_thread

from application.chat import Caller, Chat, reply_history
from application.reply_frames import Frame, final_frame, frames_after, frames_of
from domain.events import Recorded
from domain.reply_stream import ReplyOpened

POLL_SECONDS = 0.25


def stored_frames(chat: Chat, message_id: str) -> list[Frame]:
    return frames_of(chat.store.read(message_id))


@dataclass(slots=True)
class Tail:
    """Where a follower's reads of the reply stream have got to."""

    opened: ReplyOpened
    read_to: int

    async def read(self, chat: Chat) -> list[Frame]:
        """The frames stored since the last read."""
        newer = await to_thread.run_sync(chat.store.read, self.opened.message_id, self.read_to)
        if newer:
            self.read_to = newer[-1].version
        return frames_after(newer, self.opened.session_id, self.opened.message_id)


async def follow_reply(
    chat: Chat, message_id: str, caller: Caller, after: int = 0
) -> AsyncIterator[Frame] | None:
    """Check that the caller may follow the reply (NotFound before anything streams), then
    return its frames after `after`; None when the reply has ended and nothing comes after
    `after`, so the client knows it holds the whole reply (SSE's 204: stop reconnecting)."""
    history: list[Recorded] = await to_thread.run_sync(
        reply_history, chat.store, message_id, caller
    )
    stored = frames_of(history)
    if final_frame(stored) is not None:
        rest = newer(stored, after)
        return replayed(rest) if rest else None
    opened = history[0].event
    assert isinstance(opened, ReplyOpened)
    return tail_of(chat, Tail(opened, history[-1].version), after, newer(stored, after))


async def replayed(frames: list[Frame]) -> AsyncIterator[Frame]:
    for frame in frames:
        yield frame


def newer(frames: list[Frame], last: int) -> list[Frame]:
    return [frame for frame in frames if frame.id > last]


async def tail_of(chat: Chat, tail: Tail, after: int, known: list[Frame]) -> AsyncIterator[Frame]:
    """`known`, then what the store gains after `tail`, up to the final frame: from this
    process's publications when the reply runs here, else from the store at each signal."""
    message_id = tail.opened.message_id
    queue = chat.live.listen(message_id)  # before the read, so nothing falls between
    try:
        here = chat.live.is_live(message_id)
        if not here:
            chat.live.unlisten(message_id, queue)
        frames = [*known, *await tail.read(chat)]
        del known  # a follower may wait for minutes: keep only what is still to come
        last = after
        while True:
            for frame in frames:
                if frame.id > last:
                    yield frame
                    last = frame.id
                if frame.final:
                    return
            if here:
                frames = [await queue.get()]
            else:
                await chat.signals.wait(message_id, POLL_SECONDS)
                frames = await tail.read(chat)
    finally:
        chat.live.unlisten(message_id, queue)
