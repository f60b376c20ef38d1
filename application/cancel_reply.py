"""CancelReply: stop a streaming reply wherever it runs; it ends with `finishReason: cancelled`."""

import asyncio
import time

from anyio import to_thread

from application.chat import Caller, Chat, reply_of
from application.errors import Conflict, ServiceUnavailable
from application.follow_reply import stored_frames
from application.reply_frames import Frame, final_frame

# The instance running the reply closes it within a provider read; this bounds the wait
# for an instance that is itself gone (the interrupted-reply sweep closes those).
WAIT_SECONDS = 5.0


async def cancel_reply(chat: Chat, message_id: str, caller: Caller) -> Frame:
    await to_thread.run_sync(reply_of, chat.store, message_id, caller)
    if final_frame(await to_thread.run_sync(stored_frames, chat, message_id)) is not None:
        raise Conflict("This reply has already finished")
    await chat.signals.request_cancel(message_id)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        task = chat.live.tasks.get(message_id)
        if task is not None:
            await asyncio.wait({task}, timeout=deadline - time.monotonic())
        final = final_frame(await to_thread.run_sync(stored_frames, chat, message_id))
        if final is not None:
            return final
        await chat.signals.wait(message_id, 0.05)
    raise ServiceUnavailable("The instance streaming this reply did not answer; try again")
