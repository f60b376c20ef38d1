"""Fallbacks in memory: the failed attempt rides in the commit that carries the fallback's
first words (with the turn when both come quickly), so falling back costs no commit."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from application.agents import AgentProfile
from application.chat import Caller, Chat
from application.fallbacks import failure_reason
from application.provider import (
    ChatProvider,
    ChatTurn,
    Chunk,
    Completion,
    ProviderBadResponse,
    ProviderError,
    ProviderRejected,
    ProviderRequest,
    ProviderStreamFailed,
    ProviderTimedOut,
    ProviderUnavailable,
)
from application.send_message import SendMessage, send_message
from domain.conversation import UserMessagePosted
from domain.reply_stream import ChunksAppended, ReplyAttemptFailed, ReplyClosed, ReplyOpened
from tests.unit.test_send_message import HeldWriter, WatchedProvider, until
from tests.unit.test_send_message import chat_with as chat_of

PRIMARY = AgentProfile(
    "primary", "P", "openai", "http://fake", "m", "active", None, None, ("gone", "backup")
)
BACKUP = AgentProfile("backup", "B", "anthropic", "http://fake", "claude", "active", 0.3, 99)


class FailingProvider:
    def __init__(self, error: ProviderError) -> None:
        self.error = error

    async def stream(self, request: ProviderRequest) -> AsyncIterator[Chunk]:
        raise self.error
        yield Chunk()  # an async generator, as adapters are

    async def complete(self, request: ProviderRequest) -> Completion:
        raise self.error

    async def probe(self, request: ProviderRequest) -> float:
        return 0.0


class Agents:
    def find(self, agent_id: str) -> AgentProfile | None:
        return {a.id: a for a in (PRIMARY, BACKUP)}.get(agent_id)

    def api_key(self, agent_id: str) -> str:
        return f"key-{agent_id}"

    def unavailable(self, agent_id: str) -> str | None:
        return None


def chat_with(writer: HeldWriter, primary: ChatProvider, backup: ChatProvider) -> Chat:
    return chat_of(writer, backup, Agents(), {"openai": primary, "anthropic": backup})


COMMAND = SendMessage(Caller(str(uuid.uuid4()), "user"), "primary", [ChatTurn("user", "hi")])


def test_a_fallback_answers_in_the_same_commit_as_the_turn_and_the_failed_attempt():
    async def scenario() -> None:
        writer, backup = HeldWriter(), WatchedProvider()
        failing = FailingProvider(ProviderUnavailable("openai", "HTTP 503", status=503))
        sending = asyncio.create_task(send_message(chat_with(writer, failing, backup), COMMAND))
        await until(lambda: len(writer.writes) == 1)
        [turn] = writer.writes
        kinds = [type(e) for e in turn]
        assert UserMessagePosted in kinds
        assert kinds[-3:] == [ReplyOpened, ReplyAttemptFailed, ChunksAppended]
        attempt = turn[-2]
        assert isinstance(attempt, ReplyAttemptFailed)
        assert (attempt.agent_id, attempt.provider, attempt.model) == ("primary", "openai", "m")
        assert (attempt.reason, attempt.status, attempt.next_agent_id) == (
            "server_error",
            503,
            "backup",  # "gone" is unknown here: skipped
        )
        writer.turn.set_result(None)
        backup.go_on.set()
        started = await sending
        await asyncio.wait_for(started.task, 2)
        assert ReplyClosed in writer.kinds()[-1] and started.recorder.text == "hello world"

    asyncio.run(scenario())


def test_the_fallback_is_asked_with_its_own_settings_and_not_the_primarys_provider_ids():
    async def scenario() -> None:
        writer, backup = HeldWriter(), WatchedProvider()
        asked: list[ProviderRequest] = []
        original = backup.stream

        def recording(request: ProviderRequest) -> AsyncIterator[Chunk]:
            asked.append(request)
            return original(request)

        backup.stream = recording  # type: ignore[method-assign]
        failing = FailingProvider(ProviderTimedOut("openai", "no answer within 1s"))
        sending = asyncio.create_task(send_message(chat_with(writer, failing, backup), COMMAND))
        await until(lambda: len(writer.writes) == 1)
        writer.turn.set_result(None)
        backup.go_on.set()
        await asyncio.wait_for((await sending).task, 2)
        [request] = asked
        assert (request.provider, request.model, request.api_key) == (
            "anthropic",
            "claude",
            "key-backup",
        )
        assert (request.temperature, request.max_tokens) == (0.3, 99)
        assert request.provider_conversation_id is None

    asyncio.run(scenario())


def test_a_refusal_is_recorded_and_no_fallback_is_asked():
    async def scenario() -> None:
        writer, backup = HeldWriter(), WatchedProvider()
        writer.turn.set_result(None)
        failing = FailingProvider(ProviderRejected("openai", "HTTP 401: bad key", status=401))
        started = await send_message(chat_with(writer, failing, backup), COMMAND)
        await asyncio.wait_for(started.task, 2)
        assert not backup.asked.is_set()
        stored = [e for w in writer.writes for e in w]
        [attempt] = [e for e in stored if isinstance(e, ReplyAttemptFailed)]
        assert (attempt.reason, attempt.next_agent_id) == ("rejected", None)
        [closed] = [e for e in stored if isinstance(e, ReplyClosed)]
        assert closed.outcome == "failed" and closed.error_message is not None
        assert "no fallback is asked" in closed.error_message

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ProviderUnavailable("p", "unreachable: ConnectError()"), "unreachable"),
        (ProviderTimedOut("p", "no answer within 30s"), "timeout"),
        (ProviderUnavailable("p", "HTTP 408", status=408), "timeout"),
        (ProviderUnavailable("p", "HTTP 429", status=429), "rate_limited"),
        (ProviderUnavailable("p", "HTTP 502", status=502), "server_error"),
        (ProviderStreamFailed("p", "overloaded"), "stream_error"),
        (ProviderBadResponse("p", "unreadable answer"), "bad_response"),
        (ProviderRejected("p", "HTTP 403", status=403), "rejected"),
        (ProviderRejected("p", "HTTP 400", status=400), "rejected"),
    ],
)
def test_each_failure_has_one_reason(error, reason):
    assert failure_reason(error) == reason
