"""A reply while the database is away: nothing is sent before it is stored, and the reply
still ends in the store (closed as it ended, or interrupted) once the database is back."""

import asyncio
import uuid

from application.live_replies import LiveReplies
from application.ports import PendingEvent
from application.recover_replies import interrupt
from application.reply_recorder import Patience, ReplyOutcome, ReplyRecorder
from application.run_reply import Progress, outcome
from domain.conversation import ReplyFinished
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened
from tests.support.sse import Event, as_sent
from tests.unit.fakes import in_memory_store
from tests.unit.test_reply_batching import QuietSignals

QUICK = Patience(first=0.001, most=0.005, close_within=0.5)


class Outage(Exception):
    """What the writer raises while the database is away."""


class FlakyWriter:
    """Appends to an in-memory store, except while `down`; with `answer_lost`, the next
    write lands but its caller hears it failed (the connection dropped before the answer)."""

    def __init__(self, store) -> None:
        self.store = store
        self.down = False
        self.answer_lost = False
        self.refuse_closing = False
        self.attempts = 0

    async def write(self, events):
        self.attempts += 1
        await asyncio.sleep(0)
        if self.down or (
            self.refuse_closing and any(isinstance(e.event, ReplyClosed) for e in events)
        ):
            raise Outage("database unavailable")
        positions = self.store.append(list(events))
        if self.answer_lost:
            self.answer_lost = False
            raise Outage("connection lost before the answer")
        return positions


def opened_reply(store) -> ReplyOpened:
    opened = ReplyOpened(
        message_id=str(uuid.uuid4()),
        session_id=str(uuid.uuid4()),
        owner_id="u",
        instance_id="i",
    )
    store.append([PendingEvent(opened.message_id, 1, opened)])
    return opened


def taken(queue) -> list[Event]:
    frames = []
    while not queue.empty():
        frames.append(as_sent(queue.get_nowait()))
    return frames


def stored_text(store, message_id: str) -> str:
    return "".join(
        r.event.text for r in store.read(message_id) if isinstance(r.event, ChunksAppended)
    )


def completed(recorder: ReplyRecorder) -> ReplyOutcome:
    return outcome(recorder, Progress(), "completed", "stop")


async def until(condition, within: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.001)


async def test_text_that_could_not_be_stored_is_stored_once_the_database_is_back():
    store = in_memory_store()
    writer = FlakyWriter(store)
    opened = opened_reply(store)
    live = LiveReplies()
    queue = live.listen(opened.message_id)
    recorder = ReplyRecorder(writer, store, live, QuietSignals(), opened, patience=QUICK)
    recorder.start()
    recorder.add("before ")
    await until(lambda: not queue.empty())
    writer.down = True
    recorder.add("during ")
    recorder.add("the outage")
    await until(lambda: writer.attempts >= 4)
    assert [f.data["content"] for f in taken(queue)] == ["before "], "nothing unstored is sent"
    writer.down = False
    await recorder.close(completed(recorder), 0, lambda: 0)
    frames = taken(queue)
    assert [f.event for f in frames] == ["chunk", "end"]
    assert frames[0].data["content"] == "during the outage"
    assert frames[-1].data["finishReason"] == "stop"
    assert stored_text(store, opened.message_id) == "before during the outage"
    assert isinstance(store.read(opened.message_id)[-1].event, ReplyClosed)


async def test_a_close_that_fails_while_the_database_is_away_is_stored_when_it_returns():
    store = in_memory_store()
    writer = FlakyWriter(store)
    opened = opened_reply(store)
    live = LiveReplies()
    queue = live.listen(opened.message_id)
    recorder = ReplyRecorder(writer, store, live, QuietSignals(), opened, patience=QUICK)
    recorder.start()
    recorder.add("all of it")
    await until(lambda: not queue.empty())
    writer.down = True
    closing = asyncio.create_task(recorder.close(completed(recorder), 0, lambda: 0))
    await until(lambda: writer.attempts >= 4)
    assert not closing.done()
    writer.down = False
    await asyncio.wait_for(closing, 2)
    assert [f.event for f in taken(queue)] == ["chunk", "end"]
    finished = store.read(opened.session_id)[-1].event
    assert isinstance(finished, ReplyFinished) and finished.content == "all of it"


async def test_a_write_that_landed_though_its_answer_was_lost_is_sent_once():
    store = in_memory_store()
    writer = FlakyWriter(store)
    opened = opened_reply(store)
    live = LiveReplies()
    queue = live.listen(opened.message_id)
    recorder = ReplyRecorder(writer, store, live, QuietSignals(), opened, patience=QUICK)
    recorder.start()
    writer.answer_lost = True
    recorder.add("landed ")
    await until(lambda: writer.attempts >= 1)
    recorder.add("then more")
    await recorder.close(completed(recorder), 0, lambda: 0)
    frames = taken(queue)
    chunks = [f.data["content"] for f in frames if f.event == "chunk"]
    assert "".join(chunks) == "landed then more" == stored_text(store, opened.message_id)
    assert [f.id for f in frames] == sorted({f.id for f in frames})
    assert frames[-1].event == "end"


async def test_a_reply_another_instance_interrupted_meanwhile_ends_as_interrupted():
    store = in_memory_store()
    writer = FlakyWriter(store)
    opened = opened_reply(store)
    live = LiveReplies()
    queue = live.listen(opened.message_id)
    recorder = ReplyRecorder(writer, store, live, QuietSignals(), opened, patience=QUICK)
    recorder.start()
    recorder.add("kept ")
    await until(lambda: not queue.empty())
    writer.down = True
    recorder.add("never stored")
    await until(lambda: writer.attempts >= 3)
    assert interrupt(store, opened.message_id), "taken for abandoned elsewhere"
    writer.down = False
    await asyncio.wait_for(recorder.close(completed(recorder), 1, lambda: 1), 2)
    frames = taken(queue)
    assert [f.event for f in frames] == ["chunk", "end"]
    assert frames[-1].data["finishReason"] == "interrupted"
    assert stored_text(store, opened.message_id) == "kept "


async def test_a_close_not_stored_in_time_gives_way_to_an_interruption():
    store = in_memory_store()
    writer = FlakyWriter(store)
    opened = opened_reply(store)
    live = LiveReplies()
    queue = live.listen(opened.message_id)
    recorder = ReplyRecorder(writer, store, live, QuietSignals(), opened, patience=QUICK)
    recorder.start()
    recorder.add("stored text")
    await until(lambda: not queue.empty())
    writer.refuse_closing = True  # the close cannot be written; the store itself answers
    await asyncio.wait_for(recorder.close(completed(recorder), 0, lambda: 0), 3)
    frames = taken(queue)
    assert frames[-1].event == "end" and frames[-1].data["finishReason"] == "interrupted"
    finished = store.read(opened.session_id)[-1].event
    assert isinstance(finished, ReplyFinished) and finished.outcome == "interrupted"
    assert finished.content == "stored text"
