"""Storing a reply while it streams: its deltas in batches, each durable before its frame is
published; the user's turn that asked for it, with its first words; and how it ended."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from anyio import to_thread

from application.errors import StreamConflict
from application.live_replies import LiveReplies
from application.ports import EventStore, EventWriter, PendingEvent, ReplySignals
from application.recover_replies import interrupt as interrupt_in_store
from application.reply_frames import frame_of
from application.retry import rerun_async_on_conflict
from domain.aggregate import Stream
from domain.conversation import ReplyFinished
from domain.reply_stream import ChunksAppended, ReplyClaimed, ReplyClosed, ReplyOpened
from domain.text import cleaned

log = logging.getLogger("llmchat.replies")


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

    `start(turn)` begins the storing. The user's turn that asks for the reply (with the
    reply's opening) is written first, with the first batch if the provider answers within
    TURN_WAIT_SECONDS: nothing of either has been acknowledged before that commit, and the
    first frame then waits for one commit instead of two. `turn_stored` resolves once the
    turn is durable (`stored()` waits for it); if it fails, nothing of the reply is written,
    ever.

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
        self.turn: list[PendingEvent] = []
        self.turn_stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.turn_settled = asyncio.Event()
        self.flusher: asyncio.Task[None] | None = None
        self.conversation_version = 0
        """What the conversation stands at for the close (see close)."""

    def start(self, turn: Sequence[PendingEvent] = ()) -> None:
        """Begin storing: `turn` (the user's turn and the reply's opening, not yet stored)
        first, then the reply's batches as they come."""
        self.turn = list(turn)
        if self.turn:
            # The turn waits for the first words at most this long (see store_turn).
            asyncio.get_running_loop().call_later(TURN_WAIT_SECONDS, self.wake.set)
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
        if self.flusher is not None:
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
        # Under the version we know: a conflict means the stream holds more than we think.
        stream = Stream.at(self.message_id, self.version)
        for event in events:
            stream.trigger(event)
        try:
            await self.writer.write([*turn, *stream.collect()])
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
                await self.flush_caught_up()
                return
            except Exception as error:
                log.warning(
                    "reply %s: text not stored yet, trying again: %s", self.message_id, error
                )
            await asyncio.sleep(delay)

    @rerun_async_on_conflict
    async def flush_caught_up(self) -> None:
        """One flush; a conflict on the reply stream catches up with it, then flushes again
        what is still pending (unless the stream is closed)."""
        if not self.unstored:
            return
        try:
            await self.flush()
        except StreamConflict:
            if not await self.caught_up():
                raise

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
            if isinstance(recorded.event, ReplyClosed | ReplyClaimed):
                # Closed, or claimed by an instance that took this one for dead: either
                # way nothing more of it is ours to store.
                self.ended = True
                self.pending.clear()
                self.notes.clear()
                if isinstance(recorded.event, ReplyClaimed):
                    log.warning("reply %s: taken over by another instance", self.message_id)
                    self.live.cancel(self.message_id)
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
        if self.flusher is None:
            return True
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
        self.conversation_version = conversation_version
        if await self.drain(self.patience.close_within) and not self.ended:
            await self.write_close(outcome, reread, deadline)
        if not self.ended:
            await self.interrupt_instead()

    async def write_close(
        self, outcome: ReplyOutcome, reread: Callable[[], int], deadline: float
    ) -> None:
        loop = asyncio.get_running_loop()
        for delay in self.patience.delays():
            if loop.time() >= deadline:
                return
            try:
                await self.close_caught_up(outcome, reread)
                return
            except Exception as error:
                log.warning("reply %s not closed yet, trying again: %s", self.message_id, error)
            await asyncio.sleep(delay)

    @rerun_async_on_conflict
    async def close_caught_up(self, outcome: ReplyOutcome, reread: Callable[[], int]) -> None:
        """One try at the close; a conflict catches up with both streams, then tries again."""
        if self.ended:
            return
        reply = Stream.at(self.message_id, self.version)
        reply.trigger(outcome.closed)
        conversation = Stream.at(self.session_id, self.conversation_version)
        conversation.trigger(outcome.finished)
        try:
            await self.writer.write([*reply.collect(), *conversation.collect()])
        except StreamConflict:
            # An earlier try landed, another instance closed the reply, or the
            # conversation moved on meanwhile (a title, an import).
            if await self.caught_up():
                return
            with contextlib.suppress(Exception):
                self.conversation_version = await to_thread.run_sync(reread)
            raise
        self.version += 1
        self.ended = True
        self.emit(outcome.closed)

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
