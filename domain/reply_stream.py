"""A reply's stream: its text in numbered batches, then how it closed.

Each event's version in the stream is the SSE frame id, so a client that reconnects with
`Last-Event-ID: n` is sent exactly the events after version n.
"""

from collections.abc import Iterable
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
    # Added with continuation: how many times the reply was continued after its provider
    # failed mid-answer (its usage, above, sums every attempt).
    continuations: int = 0


@stored_as("ReplyAttemptFailed")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyAttemptFailed:
    """An agent was asked for the reply and failed: before its first word, or (when
    `stored_chars` is more than 0) after the reply held that much text.

    Failing before the first word, it is recorded only for agents with fallbacks:
    `next_agent_id` names the one asked next, or is None when none was (no fallback left,
    or a fault of configuration that another agent would not fix); the reply's close then
    says how it ended. Failing mid-answer, `next_agent_id` is the agent asked to continue
    the stored text (the same one first), and the tokens are this attempt's (what the
    provider reported, or our estimate); the reply's close sums every attempt's.
    """

    session_id: str
    agent_id: str
    provider: str
    model: str
    reason: str
    """unreachable, timeout, rate_limited, server_error, stream_error, bad_response or rejected."""
    status: int | None = None
    """The provider's HTTP status, when it answered with one."""
    error_message: str = ""
    next_agent_id: str | None = None
    # Added with continuation; defaults keep earlier events replaying.
    stored_chars: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    usage_estimated: bool = False


@stored_as("ReplyClaimed")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyClaimed:
    """An instance took over a reply whose instance stopped beating (it crashed, or handed
    its replies over as it shut down), to continue it from the `stored_chars` its stream
    held. Appended at the stream's next version, so of any number of instances that try,
    one claims it; the others' appends conflict."""

    session_id: str
    instance_id: str
    """The instance that runs the reply from here on."""
    previous_instance_id: str
    stored_chars: int


def running_instance(events: Iterable[object]) -> str | None:
    """The instance a reply stream says runs it: the last claimer, else its opener."""
    runs_on = None
    for event in events:
        if isinstance(event, ReplyOpened | ReplyClaimed):
            runs_on = event.instance_id
    return runs_on
