"""SendMessage: a new user turn, durable with the start of its reply before anything streams."""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from functools import partial

from anyio import to_thread

from application.admission import Place
from application.agents import AgentProfile
from application.budgets import Reservation
from application.chat import Attached, Caller, Chat, load_conversation
from application.errors import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from application.fallbacks import Target, Targets
from application.live_feed import LiveFeed
from application.live_replies import LiveReplies
from application.ports import PendingEvent
from application.provider import ChatTurn, ProviderRequest, accepts_images
from application.reply_recorder import ReplyRecorder
from application.retry import rerun_async_on_conflict_or
from application.run_reply import Billing, run_reply
from domain.aggregate import Stream
from domain.conversation import (
    MAX_CONTENT,
    MAX_MESSAGES,
    ROLES,
    Conversation,
    ConversationFull,
    ImportedMessage,
    ReplyInProgress,
)
from domain.ids import is_uuid
from domain.reply_stream import ReplyOpened

log = logging.getLogger("llmchat.chat")


@dataclass(frozen=True, slots=True)
class SendMessage:
    caller: Caller
    agent_id: str
    messages: list[ChatTurn]
    session_id: str | None = None
    stream: bool = True
    temperature: float | None = None
    max_tokens: int | None = None
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StartedReply:
    session_id: str
    message_id: str
    recorder: ReplyRecorder
    task: "asyncio.Task[None]"
    feed: LiveFeed
    """Follows the reply from its first frame, which may be published before send_message
    returns: close it if the reply is not followed."""

    def go(self, live: LiveReplies) -> None:
        """The turn and the reply's opening are durable: the reply may be cancelled and
        is waited for at shutdown."""
        live.run(self.message_id, self.task)

    def drop(self) -> None:
        """The turn was not stored: the provider call ends and nothing of the reply is kept."""
        self.feed.close()
        self.recorder.abandon()
        self.task.cancel()

    def settle(self, live: LiveReplies, stored: "asyncio.Future[None]") -> None:
        """For a request that went away while its turn was being stored: nobody follows."""
        if stored.cancelled() or stored.exception() is not None:
            self.drop()
            return
        self.feed.close()
        self.go(live)


def validate(command: SendMessage) -> None:
    if not command.messages:
        raise ValidationFailed("messages: at least one message is required")
    if len(command.messages) > MAX_MESSAGES:
        raise ValidationFailed(f"messages: at most {MAX_MESSAGES} per request")
    for index, turn in enumerate(command.messages):
        if turn.role not in ROLES:
            raise ValidationFailed(f"messages[{index}].role: must be one of {', '.join(ROLES)}")
        if len(turn.content) > MAX_CONTENT:
            raise ValidationFailed(f"messages[{index}].content: at most {MAX_CONTENT} characters")
    if command.messages[-1].role != "user":
        raise ValidationFailed("messages: the last message must be the user's new turn")
    if not command.messages[-1].content.strip():
        raise ValidationFailed("messages: the new user message is empty")
    if command.temperature is not None and not 0 <= command.temperature <= 2:
        raise ValidationFailed("config.temperature: must be between 0 and 2")
    if command.max_tokens is not None and command.max_tokens < 1:
        raise ValidationFailed("config.maxTokens: must be at least 1")
    if command.session_id is not None and not is_uuid(command.session_id):
        raise ValidationFailed("sessionId: must be a UUID")


def active_agent(chat: Chat, agent_id: str) -> AgentProfile:
    agent = chat.agents.find(agent_id)
    if agent is None or agent.status != "active":
        why = chat.agents.unavailable(agent_id) if agent is not None else None
        raise NotFound("Agent not found", why or f"no active agent with id {agent_id!r}")
    if agent.provider not in chat.providers:
        raise ServiceUnavailable(f"Provider {agent.provider!r} is not available")
    return agent


@dataclass(frozen=True, slots=True)
class Posted:
    conversation: Conversation
    opened: ReplyOpened


def decided_turn(
    chat: Chat, command: SendMessage, agent: AgentProfile, conversation: Conversation | None
) -> tuple[Posted, list[PendingEvent]]:
    try:
        return decide_turn(chat, command, agent, conversation)
    except ReplyInProgress:
        raise Conflict("A reply is still streaming in this session") from None
    except ConversationFull as full:
        raise Conflict("Conversation is full; start a new one", str(full)) from None


def decide_turn(
    chat: Chat, command: SendMessage, agent: AgentProfile, conversation: Conversation | None
) -> tuple[Posted, list[PendingEvent]]:
    session_id = command.session_id or str(uuid.uuid4())
    if conversation is None:
        conversation = new_conversation(session_id, command, agent)
    elif conversation.deleted or not command.caller.may_see(conversation.owner_id):
        raise NotFound("Session not found")
    message_id, reply_id = str(uuid.uuid4()), str(uuid.uuid4())
    conversation.post(
        message_id, command.messages[-1].content, reply_id, chat.instance_id, agent.id
    )
    opened = ReplyOpened(
        message_id=reply_id,
        session_id=session_id,
        owner_id=conversation.owner_id,
        instance_id=chat.instance_id,
    )
    reply = Stream.at(reply_id, 0)
    reply.trigger(opened)
    turn = [*conversation.collect(), *reply.collect()]
    return Posted(conversation, opened), turn


def new_conversation(session_id: str, command: SendMessage, agent: AgentProfile) -> Conversation:
    """A conversation started by this request; its earlier messages become its context."""
    title = command.messages[-1].content.strip()[:50]
    conversation = Conversation.start(session_id, command.caller.user_id, agent.id, title)
    earlier = [
        ImportedMessage(message_id=str(uuid.uuid4()), role=m.role, content=m.content)
        for m in command.messages[:-1]
    ]
    if earlier:
        conversation.import_messages(earlier)
    return conversation


def provider_request(
    command: SendMessage, agent: AgentProfile, posted: Posted, api_key: str, attached: Attached
) -> ProviderRequest:
    context = [
        ChatTurn(m.role, m.content)
        for m in posted.conversation.messages
        if m.id != posted.opened.message_id and m.content
    ]
    if attached.text or attached.images:
        # The files go with this turn only: the stored message is what the user wrote.
        turn = context[-1]
        content = f"{turn.content}\n\n{attached.text}" if attached.text else turn.content
        context[-1] = ChatTurn(turn.role, content, attached.images)
    return ProviderRequest(
        provider=agent.provider,
        endpoint=agent.endpoint,
        api_key=api_key,
        model=agent.model,
        messages=context,
        temperature=command.temperature if command.temperature is not None else agent.temperature,
        max_tokens=command.max_tokens if command.max_tokens is not None else agent.max_tokens,
        session_id=posted.conversation.id,
        provider_conversation_id=posted.conversation.provider_conversation_id,
        user_id=command.caller.user_id,
    )


async def send_message(chat: Chat, command: SendMessage) -> StartedReply:
    """Store the user's turn with the start of the reply, and run the reply.

    The provider is asked before the turn is stored, not after: its first words are
    stored with the turn when they come quickly (see ReplyRecorder), and never without it.
    """
    validate(command)
    agent = active_agent(chat, command.agent_id)
    async with chat.admission.admitted() as place:
        attached = await attachments(chat, command, agent)
        return await post_turn(chat, command, agent, attached, place)


@rerun_async_on_conflict_or(lambda: Conflict("Session is busy; try again"))
async def post_turn(
    chat: Chat, command: SendMessage, agent: AgentProfile, attached: Attached, place: Place
) -> StartedReply:
    """Load, decide, save: safe to re-run, as nothing of a turn whose save conflicted is
    kept (its provider call is dropped with it). The chat's place in the admission is let
    go once the turn is being stored: what follows waits on the provider and the commit;
    a re-run takes it again."""
    await place.take()
    # A new conversation has nothing to read: its id is ours and unused.
    conversation = (
        None
        if command.session_id is None
        else await to_thread.run_sync(load_conversation, chat.store, command.session_id)
    )
    posted, turn = decided_turn(chat, command, agent, conversation)
    # Before the provider is asked: a refusal costs nothing but this.
    asked = provider_request(command, agent, posted, "", attached)
    held = await chat.budgets.reserve(command.caller, asked)
    try:
        started = start_reply(chat, command, agent, posted, attached, held)
    except BaseException:
        give_back(chat, held)
        raise
    # Here the request becomes events: the turn is written with the reply's first words.
    started.recorder.start(turn)
    place.let_go()
    stored = started.recorder.turn_stored
    try:
        await started.recorder.stored()
    except asyncio.CancelledError:
        # The request is gone, not the write: the reply goes on if the turn lands, and
        # settles what it holds (or releases it as abandoned).
        stored.add_done_callback(partial(started.settle, chat.live))
        raise
    except BaseException:
        # Not stored (another writer got in first, say): nothing of the reply is kept.
        started.drop()
        give_back(chat, held)
        raise
    started.go(chat.live)  # the reply's now: it settles what it spends
    return started


def give_back(chat: Chat, held: Reservation | None) -> None:
    """A reservation whose reply will never run: its tokens are the caller's again."""
    if held is not None:
        chat.budgets.release(held)


async def attachments(chat: Chat, command: SendMessage, agent: AgentProfile) -> Attached:
    if not command.file_ids:
        return Attached("")
    with_images = accepts_images(chat.providers[agent.provider])
    return await to_thread.run_sync(
        chat.attachments.attach, list(command.file_ids), command.caller, with_images
    )


def start_reply(
    chat: Chat,
    command: SendMessage,
    agent: AgentProfile,
    posted: Posted,
    attached: Attached,
    held: Reservation | None = None,
) -> StartedReply:
    """Ask the provider now; the recorder, once started, stores the turn, then what the
    provider says."""
    request = provider_request(command, agent, posted, chat.agents.api_key(agent.id), attached)
    message_id = posted.opened.message_id
    feed = LiveFeed(chat.live, message_id)
    recorder = ReplyRecorder(chat.writer, chat.store, chat.live, chat.signals, posted.opened)
    first = Target(agent, chat.providers[agent.provider], request)
    targets = Targets(chat, first, command.temperature, command.max_tokens)
    task = asyncio.create_task(
        run_reply(
            chat,
            targets,
            recorder,
            command.stream,
            posted.conversation.version,
            billing_of(command.caller, agent, held),
        )
    )
    return StartedReply(posted.conversation.id, message_id, recorder, task, feed)


def billing_of(caller: Caller, agent: AgentProfile, held: Reservation | None = None) -> Billing:
    return Billing(caller.user_id, caller.user_id if caller.api_key else None, agent.id, held)
