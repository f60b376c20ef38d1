"""A claim is not taken from a live instance: a sweep that called a reply abandoned read
its stream earlier, and another instance may have claimed it since (seen as two claims,
the second naming the first claimer as the previous instance, in the kill -9 test)."""

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from application import take_over_replies
from application.ports import PendingEvent
from application.take_over_replies import claim
from domain.reply_stream import ChunksAppended, ReplyClaimed, ReplyOpened
from tests.unit.fakes import FixedClock, in_memory_store


def claimed_reply(clock: FixedClock) -> tuple[Any, str]:
    """A reply its first instance (dead) opened, that instance B has just claimed."""
    store = in_memory_store()
    store.clock = clock
    reply, session = str(uuid.uuid4()), str(uuid.uuid4())
    opened = ReplyOpened(
        message_id=reply, session_id=session, owner_id=str(uuid.uuid4()), instance_id="dead"
    )
    store.append(
        [
            PendingEvent(reply, 1, opened),
            PendingEvent(reply, 2, ChunksAppended(text="Hi", deltas=1)),
        ]
    )
    taken = ReplyClaimed(
        session_id=session, instance_id="B", previous_instance_id="dead", stored_chars=2
    )
    store.append([PendingEvent(reply, 3, taken)])
    return store, reply


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The conversations claim went on to load: it got past its checks of the stream."""
    loaded: list[str] = []

    def load_conversation(store: object, session_id: str) -> None:
        loaded.append(session_id)

    monkeypatch.setattr(take_over_replies, "load_conversation", load_conversation)
    return loaded


def test_a_reply_claimed_a_moment_ago_is_left_to_its_claimer(loads: list[str]) -> None:
    clock = FixedClock()
    store, reply = claimed_reply(clock)
    chat = SimpleNamespace(store=store, instance_id="C")
    assert claim(chat, reply, quiet_for=1.0) is None  # type: ignore[arg-type]
    assert loads == []


def test_a_reply_still_for_longer_than_that_is_claimed(loads: list[str]) -> None:
    clock = FixedClock()
    clock.moment -= timedelta(seconds=5)  # its last write was five seconds ago
    store, reply = claimed_reply(clock)
    chat = SimpleNamespace(store=store, instance_id="C")
    claim(chat, reply, quiet_for=1.0)  # type: ignore[arg-type]
    assert len(loads) == 1  # on to the conversation (none here, so no claim)
