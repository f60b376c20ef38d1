"""RecoverReplies: replies left streaming by an instance that is gone are taken over by a
live one (see take_over_replies.py) or, with LLMCHAT_TAKEOVER=interrupt, marked interrupted.

What arrived before the crash is kept (it is in the reply's stream); an interrupted reply
ends, so its history shows it as interrupted and anyone following its stream gets an `end`
frame.
"""

import logging
from collections.abc import Callable
from typing import Protocol

from application.errors import StreamConflict
from application.ports import EventStore
from application.repository import Repository
from domain.aggregate import Stream
from domain.conversation import ReplyFinished
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened

log = logging.getLogger("llmchat.recovery")


class OpenReplies(Protocol):
    def abandoned(self) -> list[str]:
        """Ids of replies still streaming whose instance has stopped showing signs of life."""
        ...


def interrupt(store: EventStore, message_id: str) -> bool:
    """Close one abandoned reply; False if it was closed meanwhile (by anyone)."""
    history = store.read(message_id)
    if not history or not isinstance(history[0].event, ReplyOpened):
        return False
    if isinstance(history[-1].event, ReplyClosed):
        return False
    opened = history[0].event
    text = "".join(r.event.text for r in history if isinstance(r.event, ChunksAppended))
    closed = ReplyClosed(outcome="interrupted", finish_reason="interrupted")
    finished = ReplyFinished(
        session_id=opened.session_id,
        message_id=message_id,
        outcome="interrupted",
        content=text,
        finish_reason="interrupted",
    )
    repository = Repository(store)
    reply = Stream.at(message_id, len(history))
    reply.trigger(closed)
    conversation = repository.head(opened.session_id)
    conversation.trigger(finished)
    try:
        repository.save(reply, conversation)
    except StreamConflict:
        return False
    return True


def recover_replies(open_replies: OpenReplies, take_over: Callable[[str], bool]) -> int:
    """Each abandoned reply to `take_over` (continue or interrupt it); how many it took."""
    recovered = 0
    for message_id in open_replies.abandoned():
        if take_over(message_id):
            log.info("reply %s recovered", message_id)
            recovered += 1
    return recovered
