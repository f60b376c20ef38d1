"""A reply's stream: its text in numbered batches, then how it closed.

Each event's version in the stream is the SSE frame id, so a client that reconnects with
`Last-Event-ID: n` is sent exactly the events after version n.
"""

from dataclasses import dataclass

from domain.events import stored_as


@stored_as("ReplyOpened")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyOpened:
    message_id: str
    session_id: str
    owner_id: str
    instance_id: str


@stored_as("ChunksAppended")
@dataclass(frozen=True, slots=True, kw_only=True)
class ChunksAppended:
    """A batch of provider deltas, joined: one event per few milliseconds, not per delta."""

    text: str
    deltas: int


@stored_as("ReplyClosed")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyClosed:
    outcome: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_code: str | None = None
    error_message: str | None = None
    # Added with the usage ledger; defaults keep earlier events replaying.
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    usage_estimated: bool = False
