"""The child process's side of `exchange`: a drawing read and answered, then the next.

Runs under the memory limit `child` set; a MemoryError is the drawing's fault and answers
`too_complex` (and the parent then replaces the child). CPU time is limited afresh for each
request, so neither the import nor earlier drawings count against it.
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


def answer_all(requests: BinaryIO, answers: BinaryIO, memory_bytes: int) -> None:
    """Until the parent closes stdin. READY once, at the start: after that, an answer says
    the child is ready for the next drawing."""
    answers.write(READY)
    answers.flush()
    while True:
        head = requests.read(LENGTH_BYTES)
        if not head:
            return
        request = msgspec.msgpack.decode(requests.read(frame_length(head)), type=ChildRequest)
        limit_cpu(request.seconds)
        data = requests.read(request.data_bytes)
        answer, payload = read_drawing(request, data, memory_bytes)
        del data
        sent = msgspec.structs.replace(
            answer, payload_bytes=len(payload), resident_bytes=resident_bytes()
        )
        answers.write(frame(sent))
        answers.write(payload)
        answers.flush()
        del payload


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


def resident_bytes() -> int:
    """This process's resident size now. Not ru_maxrss: on Linux that keeps the high-water
    mark of the process that started this one, across exec."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * resource.getpagesize()


def limit_cpu(seconds: float) -> None:
    """SIGXCPU, which ends the process, once this request has used `seconds` of CPU. Only
    the soft limit is set: a lower hard limit could not be raised again for the next."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
