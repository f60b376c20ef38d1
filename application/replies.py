"""A reply while it streams: its frames, who listens in this process, and how it is stored."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from application.errors import StreamConflict
from application.ports import EventStore, EventWriter, PendingEvent, ReplySignals
from application.recover_replies import interrupt as interrupt_in_store
from domain.conversation import ReplyFinished
from domain.events import Recorded
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened
from domain.text import cleaned

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


def usage_of(closed: ReplyClosed) -> dict[str, int | bool]:
    """The figures the usage ledger keeps for this reply (see ReplyFinished)."""
    prompt, completion = closed.prompt_tokens, closed.completion_tokens
    return {
        "promptTokens": prompt,
        "completionTokens": completion,
        "totalTokens": prompt + completion,
        "cachedTokens": closed.cached_tokens,
        "cacheWriteTokens": closed.cache_write_tokens,
        "reasoningTokens": closed.reasoning_tokens,
        "estimated": closed.usage_estimated,
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
                "continuations": closed.continuations,
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


class FrameQueue:
    """One follower's frames, in order. Lighter than asyncio.Queue (a short list and a
    waiter, against three deques and an Event): a follower may hold one for a long reply,
    and a server holds a thousand followers."""

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


def final_frame(frames: list[Frame]) -> Frame | None:
    """The closing frame of stored frames, if the reply has ended."""
    return frames[-1] if frames and frames[-1].final else None


class LiveReplies:
    """Replies running in this process, and the queues of the clients following them."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.listeners: dict[str, set[FrameQueue]] = {}
        self.closing = False
        """Set when the server stops: a reply cut short then is interrupted, not cancelled."""

    def feed(self, message_id: str) -> LiveFeed:
        return LiveFeed(self, message_id)

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


# How long the user's turn waits for the reply's first words, to be stored in one commit.
TURN_WAIT_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Patience:
    """How a reply rides out a database that is away: each write is tried again, waiting
    `first` seconds, then twice as long each time up to `most`; a close that is still not
    stored `close_within` seconds after the reply ended gives way to an interruption."""

    first: float = 0.1
    most: float = 2.0
    close_within: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.most)


PATIENCE = Patience()


class ReplyRecorder:
    """Stores a reply's deltas in batches, each durable before its frame is published.

    While one batch is being written the next deltas gather, so a fast provider makes few,
    larger events and a slow one gets each delta to the client as soon as it is stored.

    The user's turn that asks for the reply (with the reply's opening) is written by the
    recorder too, with the first batch if the provider answers within TURN_WAIT_SECONDS:
    nothing of either has been acknowledged before that commit, and the first frame then
    waits for one commit instead of two. `turn_stored` resolves once the turn is durable
    (`stored()` waits for it); if it fails, nothing of the reply is written, ever.

    Once the turn is stored, the reply always ends in the store: a batch or the close that
    cannot be written (the database is away) is tried again until it is, and a close still
    not stored after `patience.close_within` is replaced by an interruption of what the
    stream holds. Nothing is published before it is stored, so text given up that way
    was never sent.
    """

    def __init__(
        self,
        writer: EventWriter,
        store: EventStore,
        live: LiveReplies,
        signals: ReplySignals,
        opened: ReplyOpened,
        turn: Sequence[PendingEvent] = (),
        patience: Patience = PATIENCE,
    ) -> None:
        self.writer, self.store, self.live, self.signals = writer, store, live, signals
        self.message_id, self.session_id = opened.message_id, opened.session_id
        self.patience = patience
        self.version = 1  # ReplyOpened
        self.pending: list[str] = []
        self.notes: list[object] = []
        """Events of the reply besides its text, stored before the next batch (in order)."""
        self.parts: list[str] = []
        self.wake = asyncio.Event()
        self.closing = False
        self.abandoned = False
        self.ended = False
        """The reply stream holds its ReplyClosed (ours, or another instance's)."""
        self.turn = list(turn)
        loop = asyncio.get_running_loop()
        self.turn_stored: asyncio.Future[None] = loop.create_future()
        self.turn_settled = asyncio.Event()
        if self.turn:
            # The turn waits for the first words at most this long (see store_turn).
            loop.call_later(TURN_WAIT_SECONDS, self.wake.set)
        else:
            self.turn_stored.set_result(None)
            self.turn_settled.set()
        self.flusher = asyncio.create_task(self.flush_loop())

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        text = cleaned(text)  # a provider's text, kept as events can hold it
        self.pending.append(text)
        self.parts.append(text)
        self.wake.set()

    def note(self, event: object) -> None:
        """Store `event` on the reply's stream with the next write: it waits for the next
        words (or the turn's time, or the close), so it costs no commit of its own."""
        self.notes.append(event)

    @property
    def unstored(self) -> bool:
        return bool(self.pending or self.notes)

    def abandon(self) -> None:
        """The turn was not stored: write nothing of the reply, ever."""
        self.abandoned = True
        self.flusher.cancel()

    async def flush_loop(self) -> None:
        if self.turn and not await self.store_turn():
            return
        while not self.ended:
            await self.wake.wait()
            self.wake.clear()
            if self.unstored:
                await self.flush_until_stored()
            if self.closing and not self.unstored:
                return

    async def store_turn(self) -> bool:
        """Write the turn, with the first batch if it comes in time; False if it failed."""
        await self.wake.wait()  # the first words, the end of the reply, or time is up
        try:
            await self.flush(self.turn)
        except asyncio.CancelledError:
            self.abandoned = True
            self.turn_stored.cancel()
            raise
        except Exception as error:
            self.abandoned = True
            self.turn_stored.set_exception(error)
            return False
        else:
            self.turn = []
            self.turn_stored.set_result(None)
            return True
        finally:
            self.turn_settled.set()

    @property
    def others_waiting(self) -> bool:
        """The turn is being stored, or a follower has yet to take the first frame. (Later
        frames may wait: bursts then make fewer, larger batches.)"""
        if not self.turn_settled.is_set():
            return True
        return self.version <= 2 and self.live.behind(self.message_id)

    async def stored(self) -> None:
        """Return once the turn is durable; raise what stopped it if it cannot be.

        A waiter that is cancelled cancels nothing of the recorder's, and it hears the
        outcome one turn of the loop sooner than through `asyncio.shield`.
        """
        await self.turn_settled.wait()
        self.turn_stored.result()

    async def flush(self, turn: Sequence[PendingEvent] = ()) -> None:
        batch, self.pending = self.pending, []
        notes, self.notes = self.notes, []
        events = [*notes]
        if batch:
            events.append(ChunksAppended(text="".join(batch), deltas=len(batch)))
        if not events:
            await self.writer.write(turn)
            return
        first = self.version + 1
        stream = [PendingEvent(self.message_id, first + i, e) for i, e in enumerate(events)]
        try:
            await self.writer.write([*turn, *stream])
        except BaseException:
            # Not stored, so not sent: the batch goes first in the next try.
            self.pending[:0] = batch
            self.notes[:0] = notes
            raise
        for event in events:
            self.version += 1
            self.emit(event)

    async def flush_until_stored(self) -> None:
        """Store what is pending, trying again (with what came meanwhile) while it fails."""
        for delay in self.patience.delays():
            if not self.unstored:
                return
            try:
                await self.flush()
                return
            except StreamConflict:
                if await self.caught_up():
                    return
            except Exception as error:
                log.warning(
                    "reply %s: text not stored yet, trying again: %s", self.message_id, error
                )
            await asyncio.sleep(delay)

    async def caught_up(self) -> bool:
        """After a conflict on the reply stream: publish what it holds that we did not know
        of, and say whether it is closed. A write whose answer was lost may have landed
        (its batch leads what is pending), or another instance took the reply for dead and
        interrupted it."""
        try:
            newer = await to_thread.run_sync(self.store.read, self.message_id, self.version)
        except Exception as error:
            log.warning("reply %s: stream not read: %s", self.message_id, error)
            return False
        for recorded in newer:
            if isinstance(recorded.event, ChunksAppended):
                del self.pending[: recorded.event.deltas]
            elif self.notes and recorded.event == self.notes[0]:
                del self.notes[0]
            self.version = recorded.version
            self.emit(recorded.event)
            if isinstance(recorded.event, ReplyClosed):
                self.ended = True
                self.pending.clear()
                self.notes.clear()
        return self.ended

    def emit(self, event: object) -> None:
        frame = frame_of(self.version, event, self.session_id, self.message_id)
        if frame is not None:
            self.live.publish(self.message_id, frame)
            task = asyncio.ensure_future(self.signals.announce(self.message_id))
            task.add_done_callback(lambda t: t.exception())

    async def drain(self, within: float | None = None) -> bool:
        """Store what is pending; False if that took longer than `within` (it is dropped)."""
        self.closing = True
        self.wake.set()
        done, _ = await asyncio.wait({self.flusher}, timeout=within)
        if not done:
            self.flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.flusher
            self.pending.clear()
            self.notes.clear()
            return False
        return not self.flusher.cancelled() and self.flusher.exception() is None

    async def close(
        self, outcome: ReplyOutcome, conversation_version: int, reread: Callable[[], int]
    ) -> None:
        """Store how the reply ended, in the reply stream and the conversation at once.

        `conversation_version` is what the conversation stood at when the reply started;
        `reread` finds its current version if something else was appended meanwhile.
        Returns once the reply is closed in the store: as `outcome` says, or interrupted
        if that could not be stored within `patience.close_within`.
        """
        if self.abandoned:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience.close_within
        if await self.drain(self.patience.close_within) and not self.ended:
            await self.write_close(outcome, conversation_version, reread, deadline)
        if not self.ended:
            await self.interrupt_instead()

    async def write_close(
        self,
        outcome: ReplyOutcome,
        conversation_version: int,
        reread: Callable[[], int],
        deadline: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        version = conversation_version
        for delay in self.patience.delays():
            if loop.time() >= deadline:
                return
            events = [
                PendingEvent(self.message_id, self.version + 1, outcome.closed),
                PendingEvent(self.session_id, version + 1, outcome.finished),
            ]
            try:
                await self.writer.write(events)
            except StreamConflict:
                # An earlier try landed, another instance closed the reply, or the
                # conversation moved on meanwhile (a title, an import).
                if await self.caught_up():
                    return
                with contextlib.suppress(Exception):
                    version = await to_thread.run_sync(reread)
                    continue
            except Exception as error:
                log.warning("reply %s not closed yet, trying again: %s", self.message_id, error)
            else:
                self.version += 1
                self.ended = True
                self.emit(outcome.closed)
                return
            await asyncio.sleep(delay)

    async def interrupt_instead(self) -> None:
        """Close the reply as interrupted from what its stream holds, trying until it is."""
        log.warning("reply %s: its close was not stored in time; interrupting it", self.message_id)
        for delay in self.patience.delays():
            try:
                await to_thread.run_sync(interrupt_in_store, self.store, self.message_id)
            except Exception as error:
                log.warning(
                    "reply %s not interrupted yet, trying again: %s", self.message_id, error
                )
            if await self.caught_up():
                return
            await asyncio.sleep(delay)
