"""What the API process and a drawing's child process (`infrastructure.cad.child`) say.

Over the child's stdin and stdout, one drawing after another: the child writes `READY`
once it can take drawings; the parent sends a framed `ChildRequest` followed by the
drawing's bytes; the child answers with a framed `ChildAnswer` followed by its payload (the
parse result's JSON, or the SVG as UTF-8). A frame is a 4-byte big-endian length and that
many bytes of msgpack. Drawing and payload travel raw, so neither side copies them.

This module is imported by both sides and so imports nothing of ezdxf.
"""

import re
import struct
from typing import Final, Literal

import msgspec

from domain.text import storable

READY: Final = b"R"
_LENGTH: Final = struct.Struct(">I")
LENGTH_BYTES: Final = _LENGTH.size
MAX_FRAME_BYTES: Final = 64 * 1024
"""A header is a few dozen bytes; anything longer is not one."""
MAX_DETAIL_CHARS: Final = 300

Operation = Literal["parse", "svg"]
Outcome = Literal["read", "invalid", "unsupported", "too_complex"]


class ChildRequest(msgspec.Struct, frozen=True):
    operation: Operation
    seconds: float
    """Wall time the parent allows; the child stops converting (truncates) well before."""
    max_result_bytes: int
    data_bytes: int
    """Length of the drawing that follows."""


class ChildAnswer(msgspec.Struct, frozen=True):
    outcome: Outcome
    details: str = ""
    """Why the drawing was not read; empty when it was."""
    payload_bytes: int = 0
    """Length of the payload that follows, so that a payload cut off is not taken whole."""
    entity_count: int = 0
    layer_count: int = 0
    truncated: bool = False
    resident_bytes: int = 0
    """The child's resident size after the drawing: a child that grew much is not reused."""


Answered = tuple[ChildAnswer, bytes]


class BadFrame(Exception):
    """The bytes are not a frame of this exchange."""


def frame(message: ChildRequest | ChildAnswer) -> bytes:
    body = msgspec.msgpack.encode(message)
    return _LENGTH.pack(len(body)) + body


def frame_length(head: bytes | bytearray) -> int:
    """The length of the frame whose first `LENGTH_BYTES` bytes are `head`."""
    (length,) = _LENGTH.unpack(head[:LENGTH_BYTES])
    if length > MAX_FRAME_BYTES:
        raise BadFrame(f"a frame of {length} bytes")
    return int(length)


def answer_bytes(received: bytes | bytearray) -> int | None:
    """How many bytes the whole answer starting `received` has, once its frame is in."""
    if len(received) < LENGTH_BYTES:
        return None
    end = LENGTH_BYTES + frame_length(received)
    if len(received) < end:
        return None
    return end + _decoded(received[LENGTH_BYTES:end]).payload_bytes


def split_answer(received: bytes | bytearray) -> tuple[ChildAnswer, bytes]:
    """The answer and its payload, which must be all of `received`."""
    if answer_bytes(received) != len(received):
        raise BadFrame(f"no whole answer in {len(received)} bytes")
    end = LENGTH_BYTES + frame_length(received)
    return _decoded(received[LENGTH_BYTES:end]), bytes(received[end:])


def _decoded(body: bytes | bytearray) -> ChildAnswer:
    try:
        return msgspec.msgpack.decode(body, type=ChildAnswer)
    except msgspec.DecodeError as error:
        raise BadFrame(str(error)) from None


_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def plain_text(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text` fit for an answer and an event: one line without control characters, and
    nothing an event cannot hold (domain/text.py), at most `limit` characters. A drawing's
    bytes can put any of these into an error message that quotes them."""
    return storable(_CONTROL.sub(" ", text), limit)
