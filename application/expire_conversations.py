"""ExpireConversations: conversations idle past the retention period lose their text (their
data key is destroyed).

A table of the write side, kept with every append, nominates: what it calls idle may have
moved by the time its stream is read.
The conversation's own stream decides (its newest event older than the cutoff, no reply
open), and the expiry is appended under that stream's version check together with the
erasure of its text, all or nothing: the stored events stay as they are. A conversation
that moved after the decision keeps its text and stays; a sweep cut short has erased only
what it recorded as expired.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from application.errors import StreamConflict
from application.ports import Clock, EventStore, PendingEvent
from application.repository import Repository
from domain.conversation import Conversation


class IdleConversations(Protocol):
    def idle_since(self, cutoff: datetime) -> list[str]:
        """Session ids of conversations that seemed quiet since before `cutoff`."""
        ...


class Expiry(Protocol):
    def record(self, expired: PendingEvent, keys: Sequence[str], streams: Sequence[str]) -> None:
        """Append `expired`, destroy the data `keys` and erase what `streams` hold in the
        clear (written before data keys), in one transaction: StreamConflict (and nothing
        erased) if the expiry's version is taken."""
        ...


def expire_conversations(
    store: EventStore, idle: IdleConversations, expiry: Expiry, clock: Clock, days: float
) -> int:
    cutoff = clock.now() - timedelta(days=days)
    repository = Repository(store)
    expired = 0
    for session_id in idle.idle_since(cutoff):
        conversation = repository.get(Conversation, session_id)
        if conversation is None or conversation.expire(cutoff) is None:
            continue
        replies = [m.id for m in conversation.messages if m.role == "assistant" and m.status]
        [expiry_event] = conversation.collect()
        try:
            expiry.record(expiry_event, (session_id,), (session_id, *replies))
        except StreamConflict:
            continue  # it moved since it was read: no longer idle, or another sweep got there
        expired += 1
    return expired
