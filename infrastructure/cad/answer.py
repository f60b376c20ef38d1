"""The child process's side of `exchange`: one request read, one drawing read, one answer.

Runs under the memory limit `child` set; a MemoryError is the drawing's fault and answers
`too_complex`. CPU time is limited once the request is in, so that the import before it
is not counted against the drawing.
"""

import math
import resource
from typing import BinaryIO, Final

import msgspec

from infrastructure.cad.exchange import (
    LENGTH_BYTES,
    READY,
    Answered,
    ChildAnswer,
    ChildRequest,
    frame,
    frame_length,
    plain_text,
)
from infrastructure.cad.load import CadInvalid, CadLimits, CadUnsupportedFormat
from infrastructure.cad.model import CadDrawing
from infrastructure.cad.parse import parse_dxf
from infrastructure.cad.svg import render_svg

CONVERSION_SHARE: Final = 0.7
"""Of the wall time, the share after which conversion stops and the drawing is truncated:
the rest is for encoding and sending the result before the parent's deadline."""


def answer_one(requests: BinaryIO, answers: BinaryIO, memory_bytes: int) -> None:
    answers.write(READY)
    answers.flush()
    head = requests.read(LENGTH_BYTES)
    if not head:
        return  # a spare that was never used: the parent closed it
    body = requests.read(frame_length(head))
    request = msgspec.msgpack.decode(body, type=ChildRequest)
    limit_cpu(request.seconds)
    data = requests.read()
    answer, payload = read_drawing(request, data, memory_bytes)
    answers.write(frame(msgspec.structs.replace(answer, payload_bytes=len(payload))))
    answers.write(payload)
    answers.flush()


def read_drawing(request: ChildRequest, data: bytes, memory_bytes: int) -> Answered:
    try:
        return bounded(request, converted(request, data))
    except CadUnsupportedFormat as unsupported:
        return ChildAnswer("unsupported", plain_text(unsupported.details)), b""
    except CadInvalid as invalid:
        return ChildAnswer("invalid", plain_text(invalid.details)), b""
    except MemoryError:
        pass  # answered outside the handler, once the traceback lets go of what filled memory
    mib = memory_bytes // (1024 * 1024)
    return ChildAnswer("too_complex", f"reading it needs more than {mib} MiB of memory"), b""


def converted(request: ChildRequest, data: bytes) -> Answered:
    limits = CadLimits(max_seconds=request.seconds * CONVERSION_SHARE)
    if request.operation == "parse":
        return parsed(parse_dxf(data, limits))
    return ChildAnswer("read"), render_svg(data, limits).encode()


def bounded(request: ChildRequest, answered: Answered) -> Answered:
    if len(answered[1]) <= request.max_result_bytes:
        return answered
    return ChildAnswer(
        "too_complex", f"its result is more than {request.max_result_bytes} bytes"
    ), b""


def parsed(drawing: CadDrawing) -> Answered:
    answer = ChildAnswer(
        "read",
        entity_count=drawing.entity_count,
        layer_count=len(drawing.layers),
        truncated=drawing.truncated,
    )
    return answer, msgspec.json.encode(drawing)


def limit_cpu(seconds: float) -> None:
    """SIGXCPU once the request has used `seconds` of CPU, SIGKILL a second later."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
