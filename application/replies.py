"""A reply while it streams: its frames, who listens in this process, and how it is stored."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from application.errors import StreamConflict
from application.ports import EventWriter, PendingEvent, ReplySignals
from domain.conversation import ReplyFinished
from domain.events import Recorded
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened

log = logging.getLogger("llmchat.replies")


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE frame; its id is the version of the reply-stream event it comes from."""

    id: int
    event: str  # "chunk", "end" or "error"
    data: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.event != "chunk"


def usage_of(closed: ReplyClosed) -> dict[str, int]:
    prompt, completion = closed.prompt_tokens, closed.completion_tokens
    return {
        "promptTokens": prompt,
        "completionTokens": completion,
        "totalTokens": prompt + completion,
    }


def frame_of(version: int, event: object, session_id: str, message_id: str) -> Frame | None:
    ids = {"messageId": message_id, "sessionId": session_id}
    match event:
        case ChunksAppended(text=text):
            return Frame(version, "chunk", {"type": "text", "content": text, **ids})
        case ReplyClosed(outcome="failed") as closed:
            data = {"type": "error", "code": closed.error_code, "message": closed.error_message}
            return Frame(version, "error", {**data, **ids})
        case ReplyClosed() as closed:
            end = {
                "type": "end",
                **ids,
                "usage": usage_of(closed),
                "finishReason": closed.finish_reason,
            }
            return Frame(version, "end", end)
    return None


def frames_of(history: list[Recorded]) -> list[Frame]:
    """The frames a reply stream's stored events make, in order."""
    if not history or not isinstance(history[0].event, ReplyOpened):
        return []
    opened = history[0].event
    made = (frame_of(r.version, r.event, opened.session_id, opened.message_id) for r in history)
    return [f for f in made if f is not None]


class LiveFeed:
    """One client's view of a reply running in this process: its frames, first to final."""

    def __init__(self, live: "LiveReplies", message_id: str) -> None:
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
        try:
            frame = first
            yield frame
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


def final_frame(frames: list[Frame]) -> Frame | None:
    """The closing frame of stored frames, if the reply has ended."""
    return frames[-1] if frames and frames[-1].final else None


class LiveReplies:
    """Replies running in this process, and the queues of the clients following them."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.listeners: dict[str, set[asyncio.Queue[Frame]]] = {}
        self.closing = False
        """Set when the server stops: a reply cut short then is interrupted, not cancelled."""

    def feed(self, message_id: str) -> LiveFeed:
        return LiveFeed(self, message_id)

    def listen(self, message_id: str) -> asyncio.Queue[Frame]:
        queue: asyncio.Queue[Frame] = asyncio.Queue()
        self.listeners.setdefault(message_id, set()).add(queue)
        return queue

    def unlisten(self, message_id: str, queue: asyncio.Queue[Frame]) -> None:
        queues = self.listeners.get(message_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.listeners[message_id]

    def publish(self, message_id: str, frame: Frame) -> None:
        for queue in self.listeners.get(message_id, ()):
            queue.put_nowait(frame)

    def is_live(self, message_id: str) -> bool:
        return message_id in self.tasks

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


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    finished: ReplyFinished
    closed: ReplyClosed


class ReplyRecorder:
    """Stores a reply's deltas in batches, each durable before its frame is published.

    While one batch is being written the next deltas gather, so a fast provider makes few,
    larger events and a slow one gets each delta to the client as soon as it is stored.

    A recorder starts held: the provider is asked while the turn it answers is committed,
    and nothing is written until `release` says that turn (with the reply's opening) is
    durable. If it never is, `abandon` drops the reply without a trace.
    """

    def __init__(
        self,
        writer: EventWriter,
        live: LiveReplies,
        signals: ReplySignals,
        opened: ReplyOpened,
    ) -> None:
        self.writer, self.live, self.signals = writer, live, signals
        self.message_id, self.session_id = opened.message_id, opened.session_id
        self.version = 1  # ReplyOpened
        self.pending: list[str] = []
        self.parts: list[str] = []
        self.wake = asyncio.Event()
        self.closing = False
        self.durable = asyncio.Event()
        self.abandoned = False
        self.flusher = asyncio.create_task(self.flush_loop())

    def release(self) -> None:
        """The reply's opening is stored: its deltas may follow."""
        self.durable.set()

    def abandon(self) -> None:
        """The reply's opening could not be stored: write nothing, ever."""
        self.abandoned = True
        self.flusher.cancel()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        self.pending.append(text)
        self.parts.append(text)
        self.wake.set()

    async def flush_loop(self) -> None:
        await self.durable.wait()
        while True:
            await self.wake.wait()
            self.wake.clear()
            if self.pending:
                await self.flush()
            if self.closing and not self.pending:
                return

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        event = ChunksAppended(text="".join(batch), deltas=len(batch))
        await self.writer.write([PendingEvent(self.message_id, self.version + 1, event)])
        self.version += 1
        self.emit(event)

    def emit(self, event: object) -> None:
        frame = frame_of(self.version, event, self.session_id, self.message_id)
        if frame is not None:
            self.live.publish(self.message_id, frame)
            task = asyncio.ensure_future(self.signals.announce(self.message_id))
            task.add_done_callback(lambda t: t.exception())

    async def drain(self) -> None:
        self.closing = True
        self.wake.set()
        await self.flusher

    async def close(
        self, outcome: ReplyOutcome, conversation_version: int, reread: Callable[[], int]
    ) -> None:
        """Store how the reply ended, in the reply stream and the conversation at once.

        `conversation_version` is what the conversation stood at when the reply started;
        `reread` finds its current version if something else was appended meanwhile.
        """
        if self.abandoned:
            return
        await self.drain()
        version = conversation_version
        for _ in range(10):
            events = [
                PendingEvent(self.message_id, self.version + 1, outcome.closed),
                PendingEvent(self.session_id, version + 1, outcome.finished),
            ]
            try:
                await self.writer.write(events)
            except StreamConflict:
                version = await to_thread.run_sync(reread)
                continue  # the conversation moved on meanwhile (a title, an import)
            self.version += 1
            self.emit(outcome.closed)
            return
        raise RuntimeError(f"could not close reply {self.message_id}")
