"""TakeOverReplies: a reply whose instance stopped beating is claimed by a live one, which
continues it from its stored text as a continuation (section 2): the agent that was
answering is asked once more to continue it, then its fallbacks.

Exactly one instance claims a reply, whatever the number trying at once: the claim is a
ReplyClaimed appended at the reply stream's next version, and the store accepts one
append at a version (the others conflict, and leave the reply alone). Timing only says
when to try, never who wins. The instance that lost the reply, if it was alive after all,
finds the claim at its next write and stops (see ReplyRecorder.caught_up).

The claim is decided in the heartbeat's thread; the reply then runs on the server's event
loop like any other, so cancel, shutdown and followers treat it alike.
"""

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from application.chat import Attached, Caller, Chat, load_conversation
from application.errors import StreamConflict
from application.fallbacks import Target, Targets
from application.provider import Usage
from application.recover_replies import interrupt
from application.reply_recorder import ReplyRecorder
from application.repository import Repository
from application.run_reply import Billing, Progress, run_reply, summed
from application.send_message import Posted, SendMessage, provider_request
from domain.aggregate import Stream
from domain.conversation import Conversation
from domain.reply_stream import (
    ChunksAppended,
    ReplyAttemptFailed,
    ReplyClaimed,
    ReplyClosed,
    ReplyOpened,
    running_instance,
)
from domain.timestamps import parse_stored

log = logging.getLogger("llmchat.takeover")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A reply this instance now runs: what its stream held when it was claimed."""

    opened: ReplyOpened
    conversation: Conversation
    version: int
    """The claim's version in the reply stream: the next frame comes after it."""
    text: str
    attempts: list[ReplyAttemptFailed]


def claim(chat: Chat, message_id: str, quiet_for: float = 0.0) -> Claimed | None:
    """Claim an abandoned reply for this instance; None if another instance has it (or it
    is closed). Runs in a thread: it reads and appends synchronously.

    A stream written within `quiet_for` seconds is left alone: the sweep that called the
    reply abandoned read it earlier, and another instance may have claimed it since (the
    claim would otherwise be taken from that live instance, found as `previous`)."""
    history = chat.store.read(message_id)
    if not history or not isinstance(opened := history[0].event, ReplyOpened):
        return None
    if isinstance(history[-1].event, ReplyClosed):
        return None
    if moved_within(history[-1].timestamp, quiet_for):
        return None
    previous = running_instance(r.event for r in history)
    if previous is None or previous == chat.instance_id:
        return None
    conversation = load_conversation(chat.store, opened.session_id)
    if conversation is None or conversation.open_reply != message_id:
        return None
    text = "".join(r.event.text for r in history if isinstance(r.event, ChunksAppended))
    claimed = ReplyClaimed(
        session_id=opened.session_id,
        instance_id=chat.instance_id,
        previous_instance_id=previous,
        stored_chars=len(text),
    )
    reply = Stream.at(message_id, history[-1].version)
    reply.trigger(claimed)
    version = reply.version
    try:
        Repository(chat.store).save(reply)
    except StreamConflict:
        return None  # another instance claimed it (or closed it) first
    attempts = [r.event for r in history if isinstance(r.event, ReplyAttemptFailed)]
    return Claimed(opened, conversation, version, text, attempts)


def moved_within(timestamp: str, seconds: float) -> bool:
    if seconds <= 0:
        return False
    return datetime.now(UTC) - parse_stored(timestamp) < timedelta(seconds=seconds)


class TakeOver:
    """What the heartbeat does with an abandoned reply: claims it and runs it on `loop`
    (set once the server's loop runs), or interrupts it when it cannot be continued here
    (its agent gone, or continued as often as allowed)."""

    def __init__(self, chat: Chat, stream: bool = True, quiet_for: float = 0.0) -> None:
        self.chat = chat
        self.stream = stream
        self.quiet_for = quiet_for
        """How long a reply's stream must have been still to be claimed: the time after which
        a silent instance is taken for dead."""
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, message_id: str) -> bool:
        loop = self.loop
        if loop is None or loop.is_closed() or self.chat.live.stopping:
            return False  # not serving (yet, or any more): another instance will
        claimed = claim(self.chat, message_id, self.quiet_for)
        if claimed is None:
            return False
        log.warning(
            "reply %s: its instance is gone; continuing it after %d characters",
            message_id,
            len(claimed.text),
        )
        asyncio.run_coroutine_threadsafe(self.start(claimed), loop)
        return True

    async def start(self, claimed: Claimed) -> None:
        message_id = claimed.opened.message_id
        resumed = resumed_run(self.chat, claimed)
        if resumed is None:
            log.warning("reply %s cannot be continued here; interrupting it", message_id)
            await asyncio.to_thread(interrupt, self.chat.store, message_id)
            return
        targets, progress = resumed
        recorder = ReplyRecorder(
            self.chat.writer, self.chat.store, self.chat.live, self.chat.signals, claimed.opened
        )
        recorder.version = claimed.version
        recorder.parts = [claimed.text]
        recorder.start()  # nothing of a turn to store: its batches from the claim on
        assert progress.billing is not None
        task = asyncio.create_task(
            run_reply(
                self.chat,
                targets,
                recorder,
                self.stream,
                claimed.conversation.version,
                progress.billing,
                progress,
            )
        )
        self.chat.live.run(message_id, task)


def resumed_run(chat: Chat, claimed: Claimed) -> tuple[Targets, Progress] | None:
    """The reply's targets where its lost run had got to, asked to continue its text; None
    when no agent may (none left, or the reply was continued as often as allowed)."""
    conversation, opened = claimed.conversation, claimed.opened
    first_agent = chat.agents.find(conversation.agent_id)
    if first_agent is None or first_agent.provider not in chat.providers:
        return None
    # The reply's own request, as send_message made it (without the turn's attachments and
    # request overrides, which the log does not keep).
    caller = Caller(opened.owner_id, "user")
    command = SendMessage(caller, first_agent.id, [])
    request = provider_request(
        command,
        first_agent,
        Posted(conversation, opened),
        chat.agents.api_key(first_agent.id),
        Attached(""),
    )
    targets = Targets(chat, Target(first_agent, chat.providers[first_agent.provider], request))
    progress = Progress(request, Billing(opened.owner_id, None, first_agent.id))
    for attempt in claimed.attempts:
        progress.spent = summed(progress.spent, attempt_usage(attempt))
        if attempt.next_agent_id is None:
            continue
        if attempt.stored_chars:
            progress.continuations += 1
            progress.attempt_from = attempt.stored_chars
        if attempt.next_agent_id == attempt.agent_id:
            targets.asked_again.add(attempt.agent_id)
        elif not targets.reach(attempt.next_agent_id):
            return None
    if claimed.text:
        # The lost run's share: nothing reported it, so it is estimated.
        progress.request = targets.current.request
        progress.spend(claimed.text)
        if progress.continuations >= chat.max_continuations:
            return None
        following = targets.continuing(claimed.text, None, broke_off=True)
        if following is None:
            return None
        progress.continuations += 1
    progress.request = targets.current.request
    assert progress.billing is not None
    progress.billing = replace(progress.billing, agent_id=targets.current.agent.id)
    return targets, progress


def attempt_usage(attempt: ReplyAttemptFailed) -> Usage | None:
    if not attempt.prompt_tokens and not attempt.completion_tokens:
        return None
    return Usage(
        attempt.prompt_tokens,
        attempt.completion_tokens,
        attempt.prompt_tokens + attempt.completion_tokens,
        cached_tokens=attempt.cached_tokens,
        cache_write_tokens=attempt.cache_write_tokens,
        reasoning_tokens=attempt.reasoning_tokens,
        estimated=attempt.usage_estimated,
    )
