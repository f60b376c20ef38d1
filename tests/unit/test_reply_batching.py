"""Batching a reply's deltas: whatever the timing, the stored text is exactly what arrived."""

import asyncio
import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from application.live_replies import LiveReplies
from application.reply_recorder import ReplyRecorder
from domain.reply_stream import ChunksAppended, ReplyOpened
from domain.text import cleaned
from tests.support.sse import as_sent
from tests.unit.fakes import in_memory_store

OPENED = ReplyOpened(message_id="m", session_id="s", owner_id="u", instance_id="i")


class SlowWriter:
    """Stores events after a random pause, as a busy database would."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.stored: list[tuple[str, int, object]] = []

    async def write(self, events):
        await asyncio.sleep(self.random.choice([0, 0, 0.0005, 0.002]))
        self.stored += [(e.stream_id, e.version, e.event) for e in events]
        return list(range(len(events)))


class QuietSignals:
    async def announce(self, message_id: str) -> None:
        return None

    async def wait(self, message_id: str, within: float) -> None:
        return None

    async def request_cancel(self, message_id: str) -> None:
        return None


async def feed(deltas: list[str], gaps: list[float], seed: int):
    writer = SlowWriter(seed)
    live = LiveReplies()
    queue = live.listen("m")
    recorder = ReplyRecorder(writer, in_memory_store(), live, QuietSignals(), OPENED)
    recorder.start()
    for index, delta in enumerate(deltas):
        recorder.add(delta)
        if index < len(gaps) and gaps[index]:
            await asyncio.sleep(gaps[index])
    await recorder.drain()
    frames = []
    while not queue.empty():
        frames.append(as_sent(queue.get_nowait()))
    return writer.stored, frames, recorder


@settings(max_examples=60, deadline=None)
@given(
    deltas=st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=40),
    gaps=st.lists(st.sampled_from([0.0, 0.0, 0.001]), max_size=40),
    seed=st.integers(0, 1000),
)
@example(deltas=["a\x00b", "\ud800", "c"], gaps=[], seed=0)  # what no event can hold
def test_stored_batches_and_frames_add_up_to_the_deltas_in_order(deltas, gaps, seed):
    stored, frames, recorder = asyncio.run(feed(deltas, gaps, seed))
    batches = [event for _, _, event in stored]
    assert all(isinstance(b, ChunksAppended) for b in batches)
    # A provider's text is kept as events can hold it: without NUL or lone surrogates.
    said = cleaned("".join(deltas))
    assert "".join(b.text for b in batches) == said == recorder.text
    assert sum(b.deltas for b in batches) == len(deltas)
    versions = [version for _, version, _ in stored]
    assert versions == list(range(2, 2 + len(batches))), "one stream version after another"
    assert [f.id for f in frames] == versions, "each stored batch is published once, in order"
    assert "".join(f.data["content"] for f in frames) == said
