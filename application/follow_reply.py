"""FollowReply: the frames of a reply after a given id, then its live tail until it ends.

Works on any instance: frames come from the event store, so none is lost or repeated;
on the instance running the reply they also arrive straight from it, and elsewhere a
signal (or, failing that, a short poll) says when to read the store again.
"""

from collections.abc import AsyncIterator

from anyio import to_thread

from application.chat import Caller, Chat, reply_history
from application.frame_queue import FrameQueue
from application.reply_frames import Frame, final_frame, frames_of

POLL_SECONDS = 0.25


def stored_frames(chat: Chat, message_id: str) -> list[Frame]:
    return frames_of(chat.store.read(message_id))


def visible_frames(chat: Chat, message_id: str, caller: Caller) -> list[Frame]:
    return frames_of(reply_history(chat.store, message_id, caller))


async def follow_reply(
    chat: Chat, message_id: str, caller: Caller, after: int = 0
) -> AsyncIterator[Frame] | None:
    """Check that the caller may follow the reply (NotFound before anything streams), then
    return its frames after `after`; None when the reply has ended and nothing comes after
    `after`, so the client knows it holds the whole reply (SSE's 204: stop reconnecting)."""
    stored = await to_thread.run_sync(visible_frames, chat, message_id, caller)
    if final_frame(stored) is not None:
        rest = newer(stored, after)
        return replayed(rest) if rest else None
    return frames_after(chat, message_id, after)


async def replayed(frames: list[Frame]) -> AsyncIterator[Frame]:
    for frame in frames:
        yield frame


async def frames_after(chat: Chat, message_id: str, after: int) -> AsyncIterator[Frame]:
    queue = chat.live.listen(message_id)
    try:
        if not chat.live.is_live(message_id):
            chat.live.unlisten(message_id, queue)
            async for frame in follow_stored(chat, message_id, after):
                yield frame
            return
        async for frame in follow_local(chat, message_id, after, queue):
            yield frame
    finally:
        chat.live.unlisten(message_id, queue)


def newer(frames: list[Frame], last: int) -> list[Frame]:
    return [frame for frame in frames if frame.id > last]


async def follow_local(
    chat: Chat, message_id: str, after: int, queue: FrameQueue
) -> AsyncIterator[Frame]:
    last = after
    stored = await to_thread.run_sync(stored_frames, chat, message_id)
    for frame in newer(stored, last):
        yield frame
        last = frame.id
    if final_frame(stored) is not None:
        return
    del stored  # a follower may wait for minutes: keep only what is still to come
    while True:
        frame = await queue.get()
        if frame.id > last:
            yield frame
            last = frame.id
            if frame.final:
                return


async def follow_stored(chat: Chat, message_id: str, after: int) -> AsyncIterator[Frame]:
    last = after
    while True:
        stored = await to_thread.run_sync(stored_frames, chat, message_id)
        for frame in newer(stored, last):
            yield frame
            last = frame.id
        if final_frame(stored) is not None:
            return
        await chat.signals.wait(message_id, POLL_SECONDS)
