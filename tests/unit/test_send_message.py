"""SendMessage asks the provider before the user's turn is stored: the reply's first words
go in one commit with the turn when they come quickly, nothing of the reply is stored
without the turn, and nothing at all if the turn cannot be stored."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping

import pytest

from application.agents import AgentDirectory, AgentProfile
from application.chat import Caller, Chat
from application.errors import ServiceUnavailable
from application.live_replies import LiveReplies
from application.provider import ChatProvider, ChatTurn, Chunk, Completion, ProviderRequest
from application.send_message import SendMessage, StartedReply, send_message
from domain.conversation import ReplyFinished, UserMessagePosted
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened
from tests.unit.fakes import in_memory_store
from tests.unit.test_reply_batching import QuietSignals

AGENT = AgentProfile("a", "A", "openai", "http://fake", "m", "active", None, None)


class HeldWriter:
    """Holds the first write (the user's turn) until the test lets it land or fail."""

    def __init__(self) -> None:
        self.turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.writes: list[list[object]] = []

    async def write(self, events):
        if not self.writes:
            self.writes.append([e.event for e in events])
            await self.turn
        else:
            self.writes.append([e.event for e in events])
        return list(range(len(events)))

    def kinds(self) -> list[list[type]]:
        return [[type(e) for e in write] for write in self.writes]


class WatchedProvider:
    """Answers with one chunk (at once, unless told to wait), then waits for the test; says
    when it was asked and whether its stream was closed."""

    def __init__(self, answers: bool = True) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()
        if answers:
            self.answer.set()
        self.go_on = asyncio.Event()
        self.closed = False

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        self.asked.set()
        try:
            await self.answer.wait()
            yield Chunk(text="hello")
            await self.go_on.wait()
            yield Chunk(text=" world", finish_reason="stop")
        finally:
            self.closed = True

    async def complete(self, request: ProviderRequest) -> Completion:
        raise AssertionError("these chats stream")

    async def probe(self, request: ProviderRequest) -> float:
        return 0.0


class Agents:
    def find(self, agent_id: str) -> AgentProfile | None:
        return AGENT if agent_id == AGENT.id else None

    def api_key(self, agent_id: str) -> str:
        return ""

    def unavailable(self, agent_id: str) -> str | None:
        return None


class Metrics:
    def reply_started(self) -> None: ...

    def first_chunk(self, provider: str, seconds: float) -> None: ...

    def reply_ended(self, provider: str, outcome: str, error: str | None) -> None: ...

    def usage(self, finished: ReplyFinished) -> None: ...

    def fell_back(self, from_agent: str, to_agent: str, reason: str) -> None: ...


def chat_with(
    writer: HeldWriter,
    provider: ChatProvider,
    agents: AgentDirectory | None = None,
    providers: Mapping[str, ChatProvider] | None = None,
) -> Chat:
    return Chat(
        store=in_memory_store(),
        writer=writer,
        live=LiveReplies(),
        signals=QuietSignals(),
        agents=agents or Agents(),
        providers=dict(providers or {"openai": provider}),
        instance_id=str(uuid.uuid4()),
        metrics=Metrics(),
        attachments=None,  # type: ignore[arg-type]  # no files in these chats
    )


COMMAND = SendMessage(Caller(str(uuid.uuid4()), "user"), "a", [ChatTurn("user", "hi")])


async def until(condition, within: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.001)


async def sent_while_the_turn_is_held(
    answers: bool = True,
) -> tuple[HeldWriter, WatchedProvider, Chat, "asyncio.Task[StartedReply]"]:
    """A chat sent and the provider asked, its turn still committing."""
    writer, provider = HeldWriter(), WatchedProvider(answers)
    chat = chat_with(writer, provider)
    sending = asyncio.create_task(send_message(chat, COMMAND))
    await asyncio.wait_for(provider.asked.wait(), 2)
    return writer, provider, chat, sending


def stored_text(writer: HeldWriter) -> str:
    return "".join(e.text for w in writer.writes for e in w if isinstance(e, ChunksAppended))


def test_the_first_words_are_stored_with_the_turn_and_nothing_goes_before_it():
    async def scenario() -> None:
        writer, provider, _, sending = await sent_while_the_turn_is_held()
        await until(lambda: len(writer.writes) == 1)
        kinds = writer.kinds()[0]
        assert UserMessagePosted in kinds and ReplyOpened in kinds and ChunksAppended in kinds
        provider.go_on.set()
        await until(lambda: provider.closed)  # the rest has arrived; the turn is still held
        assert len(writer.writes) == 1, "nothing is written while the turn is not durable"
        assert not sending.done()
        writer.turn.set_result(None)
        started = await sending
        await asyncio.wait_for(started.task, 2)
        assert ReplyClosed in writer.kinds()[-1]
        assert stored_text(writer) == "hello world" == started.recorder.text

    asyncio.run(scenario())


def test_a_slow_provider_does_not_hold_the_turn_back():
    async def scenario() -> None:
        writer, provider, _, sending = await sent_while_the_turn_is_held(answers=False)
        await until(lambda: len(writer.writes) == 1)  # within TURN_WAIT_SECONDS
        assert ChunksAppended not in writer.kinds()[0], "the turn went alone"
        writer.turn.set_result(None)
        started = await sending
        provider.answer.set()
        provider.go_on.set()
        await asyncio.wait_for(started.task, 2)
        assert stored_text(writer) == "hello world"

    asyncio.run(scenario())


def test_a_turn_that_is_not_stored_leaves_no_trace_of_its_reply():
    async def scenario() -> None:
        writer, provider, chat, sending = await sent_while_the_turn_is_held()
        writer.turn.set_exception(ServiceUnavailable("database unavailable"))
        with pytest.raises(ServiceUnavailable):
            await sending
        await until(lambda: provider.closed)
        # No task is left that could write: whatever the reply would store, it has tried.
        await until(lambda: asyncio.all_tasks() == {asyncio.current_task()})
        assert len(writer.writes) == 1, "nothing but the failed turn was ever written"
        assert not chat.live.tasks

    asyncio.run(scenario())


def test_a_request_cancelled_while_its_turn_commits_still_gets_its_reply_stored():
    async def scenario() -> None:
        writer, provider, _, sending = await sent_while_the_turn_is_held()
        sending.cancel()
        await until(sending.done)
        writer.turn.set_result(None)  # the turn landed after all: its reply must follow
        provider.go_on.set()
        await until(lambda: any(ReplyClosed in kinds for kinds in writer.kinds()))
        assert stored_text(writer) == "hello world"

    asyncio.run(scenario())
