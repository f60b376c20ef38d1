"""Drawings read in child processes that the operating system bounds (see `child`).

A child's address space is limited (RLIMIT_AS), its CPU time per drawing too (RLIMIT_CPU),
and it is killed when a drawing's wall time is up. Starting one costs ezdxf's import
(0.5 s of CPU on an idle host, seconds on a busy one), so a child is kept for the next
drawing, but only while it stays small: one that was refused, or holds more than half its
memory limit afterwards, or has read `MAX_READS` drawings is replaced, and its memory goes back to
the system. The API process itself never imports ezdxf.

Children are started with `subprocess` (fork and exec of a fresh interpreter), never by
forking this threaded process to run Python in the copy. A child that dies, runs out of
memory or time, or says more than a result may be, is the drawing's fault: `TooComplex`.
Only a child that never gets ready is ours: `ReaderFailed`.
"""

import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Final

from infrastructure.cad.exchange import (
    READY,
    Answered,
    BadFrame,
    ChildAnswer,
    ChildRequest,
    Operation,
    answer_bytes,
    frame,
    plain_text,
    split_answer,
)

log = logging.getLogger("llmchat.cad")

STARTUP_SECONDS: Final = 60.0
"""How long a child may take to import ezdxf before it counts as broken (on a busy host
it takes seconds); not counted against the drawing."""
MAX_IDLE: Final = 2
"""Children kept for the next drawing (~50 MiB each while they wait), one per concurrent
read that api/cad.py allows."""
MAX_READS: Final = 200
"""Drawings one child reads before it is replaced, whatever it grew."""
_CHUNK: Final = 64 * 1024
_ERROR_TAIL: Final = 4096
# What a child sees of this process's environment: enough to find Python and the project,
# none of the secrets (database URL, keys) that the settings and agents read from it.
_PASSED_ON: Final = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
# OpenBLAS (under numpy, under ezdxf) reserves address space per thread and core; one
# thread keeps the memory limit about the drawing rather than the host's core count.
_ONE_THREAD: Final = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def child_environment() -> dict[str, str]:
    passed = {name: os.environ[name] for name in _PASSED_ON if name in os.environ}
    return {**passed, **_ONE_THREAD}


@dataclass(frozen=True, slots=True)
class ChildLimits:
    memory_bytes: int = 512 * 1024 * 1024
    """Address space of the child (RLIMIT_AS); ezdxf's import takes ~125 MiB of it."""
    seconds: float = 10.0
    """CPU time (RLIMIT_CPU) and wall time (the parent kills it) for one drawing."""
    max_result_bytes: int = 64 * 1024 * 1024
    """The parse result's JSON or the SVG: more is not passed on."""


class TooComplex(Exception):
    """The drawing is over a limit; `details` says which."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class ReaderFailed(Exception):
    """A child could not be started: a fault of this installation, not of the drawing."""


class ReaderChildren:
    """Reads each drawing in a child kept for the next one while it stays small; safe to
    call from several threads at once (each read has a child to itself)."""

    def __init__(self, limits: ChildLimits | None = None) -> None:
        self.limits = limits or ChildLimits()
        self._lock = threading.Lock()
        self._idle: list[subprocess.Popen[bytes]] = []
        self._reads: dict[int, int] = {}
        self._closed = False
        # Idle children are processes: let them go with their owner, closed or not.
        weakref.finalize(self, _stop_all, self._idle)

    def read(self, operation: Operation, data: bytes) -> Answered:
        """The child's answer; raises TooComplex or ReaderFailed."""
        child = self._take()
        answer: ChildAnswer | None = None
        try:
            answer, payload = self._exchange(child, child.pid not in self._reads, operation, data)
            return answer, payload
        finally:
            self._after(child, answer)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            _stop_all(self._idle)

    def _take(self) -> subprocess.Popen[bytes]:
        with self._lock:
            child = self._idle.pop() if self._idle else None
        if child is not None and child.poll() is None:
            return child
        if child is not None:
            _stop(child)  # it died waiting (the OOM killer, say): its pipes still need closing
        return self._start()

    def _after(self, child: subprocess.Popen[bytes], answer: ChildAnswer | None) -> None:
        """Keep the child for the next drawing, or replace it with one that starts now."""
        with self._lock:
            reads = self._reads.pop(child.pid, 0) + 1
            keep = (
                answer is not None
                and answer.outcome != "too_complex"
                and answer.resident_bytes <= self.limits.memory_bytes // 2
                and reads < MAX_READS
                and not self._closed
                and len(self._idle) < MAX_IDLE
            )
            if keep:
                self._reads[child.pid] = reads
                self._idle.append(child)
            elif not self._closed and not self._idle:
                self._idle.append(self._start())
        if not keep:
            _stop(child)

    def _start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "infrastructure.cad.child", str(self.limits.memory_bytes)]
        return subprocess.Popen(  # noqa: S603 - our own module, run by our own interpreter
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
        )

    def _exchange(
        self, child: subprocess.Popen[bytes], new: bool, operation: Operation, data: bytes
    ) -> Answered:
        with Pipes(child, self.limits.max_result_bytes + _CHUNK) as pipes:
            if new:
                self._wait_ready(pipes)
            limits = self.limits
            request = ChildRequest(operation, limits.seconds, limits.max_result_bytes, len(data))
            pipes.send(frame(request), data)
            if not pipes.pump(time.monotonic() + limits.seconds, _whole_answer):
                raise TooComplex(f"reading it takes more than {limits.seconds:g} s")
            if pipes.overflowed:
                raise TooComplex(f"its result is more than {limits.max_result_bytes} bytes")
            try:
                return split_answer(pipes.received)
            except BadFrame as bad:
                status = _exit_status(child)
                raise TooComplex(self._stopped(status, str(bad), pipes.error_tail())) from None

    def _wait_ready(self, pipes: "Pipes") -> None:
        """A new child says READY once it has imported ezdxf (not counted as the drawing's)."""
        if not pipes.pump(time.monotonic() + STARTUP_SECONDS, lambda got: len(got) > 0):
            raise ReaderFailed(f"a drawing reader did not start in {STARTUP_SECONDS:g} s")
        if bytes(pipes.received[: len(READY)]) != READY:
            raise ReaderFailed(f"a drawing reader did not start: {pipes.error_tail()}")
        del pipes.received[: len(READY)]

    def _stopped(self, status: int | None, bad_frame: str, errors: str) -> str:
        """What to say of a child that ended without a whole answer."""
        if status == -signal.SIGXCPU:
            return f"reading it takes more than {self.limits.seconds:g} s of CPU time"
        if status == -signal.SIGKILL:
            return "the reader was killed (SIGKILL), as the kernel does when memory runs out"
        if status is not None and status < 0:
            ended = f"was stopped by {signal.Signals(-status).name}"
        else:
            ended = f"ended with status {status}"
        log.warning("a drawing reader %s (%s): %s", ended, bad_frame, errors)
        return f"the reader {ended}"


class Pipes:
    """A child's stdin, stdout and stderr, written and read without blocking, for one
    exchange (the child stays open for the next)."""

    def __init__(self, child: subprocess.Popen[bytes], max_received: int) -> None:
        assert child.stdin and child.stdout and child.stderr
        self.child = child
        self.max_received = max_received
        self.received = bytearray()
        self.errors = bytearray()
        self.overflowed = False
        self._outgoing: list[memoryview] = []
        self._selector = selectors.DefaultSelector()
        for stream in (child.stdin, child.stdout, child.stderr):
            os.set_blocking(stream.fileno(), False)
        self._selector.register(child.stdout, selectors.EVENT_READ, self.received)
        self._selector.register(child.stderr, selectors.EVENT_READ, self.errors)

    def __enter__(self) -> "Pipes":
        return self

    def __exit__(self, *_: object) -> None:
        self._selector.close()

    def send(self, *chunks: bytes) -> None:
        assert self.child.stdin is not None
        self._outgoing = [memoryview(chunk) for chunk in chunks if chunk]
        self._selector.register(self.child.stdin, selectors.EVENT_WRITE)

    def pump(self, deadline: float, complete: Callable[[bytearray], bool]) -> bool:
        """Move bytes until what stdout sent is `complete`, stdout ends or overflows;
        False if the deadline came first."""
        while not self._finished(complete):
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return False
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    self._write()
                else:
                    self._read(key.fileobj, key.data)  # type: ignore[arg-type]
        return True

    def _finished(self, complete: Callable[[bytearray], bool]) -> bool:
        watched = {key.fileobj for key in self._selector.get_map().values()}
        if self.overflowed or self.child.stdout not in watched:
            return True
        return complete(self.received)

    def _write(self) -> None:
        stdin = self.child.stdin
        assert stdin is not None
        try:
            while self._outgoing:
                written = os.write(stdin.fileno(), self._outgoing[0][:_CHUNK])
                self._outgoing[0] = self._outgoing[0][written:]
                if not self._outgoing[0]:
                    self._outgoing.pop(0)
        except BlockingIOError:
            return
        except BrokenPipeError:
            self._outgoing.clear()  # the child is gone; its exit status says why
        self._selector.unregister(stdin)

    def _read(self, source: IO[bytes], into: bytearray) -> None:
        try:
            chunk = os.read(source.fileno(), _CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self._selector.unregister(source)
            return
        into += chunk
        if into is self.errors:
            del self.errors[:-_ERROR_TAIL]
        elif len(self.received) > self.max_received:
            self.overflowed = True

    def error_tail(self) -> str:
        return plain_text(self.errors.decode("utf-8", "replace"), _ERROR_TAIL)


def _whole_answer(received: bytearray) -> bool:
    try:
        needed = answer_bytes(received)
    except BadFrame:
        return True  # no answer will come of it; split_answer says why
    return needed is not None and len(received) >= needed


def _exit_status(child: subprocess.Popen[bytes]) -> int | None:
    """The status of a child whose stdout has ended; it exits right after, or is stuck."""
    try:
        return child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    for stream in (child.stdin, child.stdout, child.stderr):
        if stream is not None:
            stream.close()


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    while children:
        _stop(children.pop())
