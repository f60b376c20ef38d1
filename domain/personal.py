"""Personal content in events: which fields it is, and whose data key it is kept under.

The event store encrypts an event's personal content with a data key: a conversation's key
(its session id) for what was written and read in it, a user's key (the user id) for
account data and file descriptions. Destroying a key erases that content everywhere it is
stored while the event itself, and so the seal chain over the log, stays as it was: what
is left to read is the event `redacted` (what, when and who; not the words).
"""

from dataclasses import replace
from typing import TypeVar, cast

from domain.conversation import (
    ConversationStarted,
    ConversationTitled,
    MessagesImported,
    ReplyFinished,
    UserMessagePosted,
)
from domain.file import FileUploaded
from domain.reply_stream import ChunksAppended, ReplyAttemptFailed, ReplyOpened
from domain.user import EmailClaimed, UserRegistered

E = TypeVar("E")


def redacted(event: E) -> E:
    """The event without the words people wrote or read, nor their account's personal
    fields; what, when and who stay. A file keeps its name (the audit trail names what was
    uploaded); its description goes."""
    match event:
        case ConversationStarted() | ConversationTitled():
            return cast(E, replace(event, title=""))
        case UserMessagePosted():
            return cast(E, replace(event, content=""))
        case ReplyFinished():
            return cast(E, replace(event, content="", error_message=None))
        case MessagesImported(messages=messages):
            erased = [replace(m, content="") for m in messages]
            return cast(E, replace(event, messages=erased))
        case ChunksAppended():
            return cast(E, replace(event, text=""))
        case ReplyAttemptFailed():
            return cast(E, replace(event, error_message=""))
        case UserRegistered():
            return cast(E, replace(event, email="", name="", password_hash=""))
        case EmailClaimed():
            return cast(E, replace(event, email=""))
        case FileUploaded():
            return cast(E, replace(event, description=""))
    return event


def data_key_of(event: object) -> str | None:
    """The data key the event's personal content is kept under, when the event names it;
    None for a reply's text batches (their stream's opening names the conversation, see
    `reply_conversation`) and for events without personal content."""
    match event:
        case (
            ConversationStarted(session_id=key)
            | ConversationTitled(session_id=key)
            | UserMessagePosted(session_id=key)
            | ReplyFinished(session_id=key)
            | MessagesImported(session_id=key)
            | ReplyAttemptFailed(session_id=key)
        ):
            return key
        case UserRegistered(user_id=key) | EmailClaimed(user_id=key):
            return key
        case FileUploaded(owner_id=key):
            return key
    return None


def key_owner(first: object) -> str | None:
    """Whose key a stream's first event makes its stream's id: a conversation's is its
    owner's, an account's its own (erasing a user destroys every key the user owns)."""
    match first:
        case ConversationStarted(owner_id=owner):
            return owner
        case UserRegistered(user_id=owner):
            return owner
    return None


def reply_conversation(first: object) -> str | None:
    """The conversation a reply stream's opening belongs to: its text is under that key."""
    return first.session_id if isinstance(first, ReplyOpened) else None
