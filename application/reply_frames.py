"""A reply's frames as the application yields them: typed values, each numbered by the
reply-stream event it comes from (its version), so a frame id always names stored text.

How a frame is said on a wire (SSE, WebSocket, OpenAI's chunks) is api/'s business.
"""

from dataclasses import dataclass
from typing import ClassVar

from application.errors import ApplicationError, BadGateway, ServiceUnavailable
from domain.events import Recorded
from domain.reply_stream import ChunksAppended, ReplyClosed, ReplyOpened


@dataclass(frozen=True, slots=True)
class ReplyUsage:
    """The figures the usage ledger keeps for a reply (see ReplyFinished)."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    estimated: bool

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ReplyFrame:
    """What every frame says: its id and whose reply it is."""

    final: ClassVar[bool] = False
    id: int
    message_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class TextFrame(ReplyFrame):
    """Words of the reply, as one stored batch holds them."""

    content: str


@dataclass(frozen=True, slots=True)
class EndFrame(ReplyFrame):
    """The reply ended (stop, length, cancelled or interrupted), with its usage."""

    final: ClassVar[bool] = True
    usage: ReplyUsage
    finish_reason: str
    continuations: int = 0
    """How many times the reply was continued after its provider failed mid-answer."""


@dataclass(frozen=True, slots=True)
class ErrorFrame(ReplyFrame):
    """The reply failed; `code` is the one its close stored."""

    final: ClassVar[bool] = True
    code: str | None
    message: str | None

    def error(self) -> ApplicationError:
        """The failure as the use cases raise one, for entry points that answer it as an
        error rather than as a frame (a reply that failed before its first words)."""
        message = self.message or "Provider unavailable"
        if self.code == "BAD_GATEWAY":
            return BadGateway(message)
        return ServiceUnavailable(message)


Frame = TextFrame | EndFrame | ErrorFrame


def usage_of(closed: ReplyClosed) -> ReplyUsage:
    return ReplyUsage(
        prompt_tokens=closed.prompt_tokens,
        completion_tokens=closed.completion_tokens,
        cached_tokens=closed.cached_tokens,
        cache_write_tokens=closed.cache_write_tokens,
        reasoning_tokens=closed.reasoning_tokens,
        estimated=closed.usage_estimated,
    )


def frame_of(version: int, event: object, session_id: str, message_id: str) -> Frame | None:
    """The frame a reply-stream event makes, if any (an opening or an attempt makes none)."""
    match event:
        case ChunksAppended(text=text):
            return TextFrame(version, message_id, session_id, text)
        case ReplyClosed(outcome="failed") as closed:
            return ErrorFrame(
                version, message_id, session_id, closed.error_code, closed.error_message
            )
        case ReplyClosed() as closed:
            return EndFrame(
                version,
                message_id,
                session_id,
                usage_of(closed),
                closed.finish_reason,
                closed.continuations,
            )
    return None


def frames_of(history: list[Recorded]) -> list[Frame]:
    """The frames a reply stream's stored events make, in order (ReplyOpened first)."""
    if not history or not isinstance(history[0].event, ReplyOpened):
        return []
    opened = history[0].event
    return frames_after(history, opened.session_id, opened.message_id)


def frames_after(history: list[Recorded], session_id: str, message_id: str) -> list[Frame]:
    """The frames of part of a reply stream (events after its opening, say)."""
    made = (frame_of(r.version, r.event, session_id, message_id) for r in history)
    return [f for f in made if f is not None]


def final_frame(frames: list[Frame]) -> Frame | None:
    """The closing frame of stored frames, if the reply has ended."""
    return frames[-1] if frames and frames[-1].final else None
