"""Following a reply from another instance reads only what its stream gained since the
last read, never the whole stream again."""

import asyncio
import dataclasses
import uuid

from application.chat import Caller
from application.follow_reply import follow_reply
from application.ports import PendingEvent
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened
from tests.unit.fakes import in_memory_store
from tests.unit.test_send_message import Agents, HeldWriter, chat_with

OWNER = Caller(str(uuid.uuid4()), "user")


class Reads:
    """The store, noting each read of a stream and where it started."""

    def __init__(self, store) -> None:
        self.store = store
        self.reads: list[int] = []

    def read(self, stream_id: str, after: int = 0):
        self.reads.append(after)
        return self.store.read(stream_id, after)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


class Stepped:
    """Signals that append the reply's next event each time a follower waits."""

    def __init__(self, store, message_id: str, events: list[object]) -> None:
        self.store, self.message_id, self.events = store, message_id, events

    async def wait(self, message_id: str, within: float) -> None:
        if self.events:
            version = self.store.version(self.message_id)
            self.store.append([PendingEvent(self.message_id, version + 1, self.events.pop(0))])
        await asyncio.sleep(0)

    async def announce(self, message_id: str) -> None: ...

    async def request_cancel(self, message_id: str) -> None: ...


def test_a_follower_elsewhere_reads_only_the_new_events():
    store = in_memory_store()
    message_id = str(uuid.uuid4())
    opened = ReplyOpened(
        message_id=message_id, session_id=str(uuid.uuid4()), owner_id=OWNER.user_id, instance_id="i"
    )
    store.append(
        [
            PendingEvent(message_id, 1, opened),
            PendingEvent(message_id, 2, ChunksAppended(text="a", deltas=1)),
        ]
    )
    later = [
        ChunksAppended(text="b", deltas=1),
        ChunksAppended(text="c", deltas=1),
        ReplyClosed(outcome="completed", finish_reason="stop"),
    ]
    reads = Reads(store)

    async def followed():
        chat = dataclasses.replace(
            chat_with(HeldWriter(), None, Agents()),  # type: ignore[arg-type]
            store=reads,
            signals=Stepped(store, message_id, later),
        )
        frames = await follow_reply(chat, message_id, OWNER, after=1)
        assert frames is not None
        return [frame async for frame in frames]

    frames = asyncio.run(followed())
    assert [f.id for f in frames] == [2, 3, 4, 5] and frames[-1].final
    assert reads.reads[0] == 0, "the first read checks who may follow"
    assert reads.reads[1:] == [2, 2, 3, 4], "each later read starts after the last one read"
