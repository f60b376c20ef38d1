"""Drawings read in child processes that the operating system bounds (see `child`).

A child reads one drawing and exits, so nothing a drawing did to it outlives the request:
not the memory it took (a parse used to leave the API process ~500 MB larger), not state
left in ezdxf. Starting one costs ezdxf's import (~0.3-1 s of CPU), so one is started
ahead, after each read, and the next request finds it ready.

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
from dataclasses import dataclass
from typing import IO, Final

from infrastructure.cad.exchange import (
    READY,
    Answered,
    BadFrame,
    ChildRequest,
    Operation,
    frame,
    plain_text,
    split_answer,
)

log = logging.getLogger("llmchat.cad")

STARTUP_SECONDS: Final = 60.0
"""How long a child may take to import ezdxf before it counts as broken (on a busy host
it takes seconds); not counted against the drawing."""
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
    """Runs each read in a fresh child; safe to call from several threads at once."""

    def __init__(self, limits: ChildLimits | None = None) -> None:
        self.limits = limits or ChildLimits()
        self._lock = threading.Lock()
        self._spares: list[subprocess.Popen[bytes]] = []
        self._closed = False
        # The spare is a process: let it go with its owner even when close() is never called.
        weakref.finalize(self, _stop_all, self._spares)

    def read(self, operation: Operation, data: bytes) -> Answered:
        """The child's answer; raises TooComplex or ReaderFailed."""
        child = self._take()
        try:
            return self._exchange(child, operation, data)
        finally:
            _stop(child)
            self._top_up()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            _stop_all(self._spares)

    def _take(self) -> subprocess.Popen[bytes]:
        with self._lock:
            spare = self._spares.pop() if self._spares else None
        if spare is not None and spare.poll() is None:
            return spare
        if spare is not None:
            _stop(spare)  # it died waiting (the OOM killer, say): its pipes still need closing
        return self._start()

    def _top_up(self) -> None:
        with self._lock:
            if not self._closed and not self._spares:
                self._spares.append(self._start())

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
        self, child: subprocess.Popen[bytes], operation: Operation, data: bytes
    ) -> Answered:
        pipes = Pipes(child, self.limits.max_result_bytes + _CHUNK)
        if not pipes.pump(time.monotonic() + STARTUP_SECONDS, until_bytes=len(READY)):
            raise ReaderFailed(f"a drawing reader did not start in {STARTUP_SECONDS:g} s")
        if bytes(pipes.received[: len(READY)]) != READY:
            raise ReaderFailed(f"a drawing reader did not start: {pipes.error_tail()}")
        del pipes.received[: len(READY)]
        request = ChildRequest(operation, self.limits.seconds, self.limits.max_result_bytes)
        pipes.send(frame(request), data)
        in_time = pipes.pump(time.monotonic() + self.limits.seconds)
        if not in_time:
            raise TooComplex(f"reading it takes more than {self.limits.seconds:g} s")
        if pipes.overflowed:
            raise TooComplex(f"its result is more than {self.limits.max_result_bytes} bytes")
        try:
            return split_answer(pipes.received)
        except BadFrame as bad:
            status = _exit_status(child)
            raise TooComplex(self._stopped(status, str(bad), pipes.error_tail())) from None

    def _stopped(self, status: int | None, bad_frame: str, errors: str) -> str:
        """What to say of a child that ended without a whole answer."""
        if status == -signal.SIGXCPU:
            return f"reading it takes more than {self.limits.seconds:g} s of CPU time"
        if status == -signal.SIGKILL:
            # The hard CPU limit, or the kernel's OOM killer.
            return f"reading it takes more than {self.limits.seconds:g} s or too much memory"
        if status is not None and status < 0:
            ended = f"was stopped by {signal.Signals(-status).name}"
        else:
            ended = f"ended with status {status}"
        log.warning("a drawing reader %s (%s): %s", ended, bad_frame, errors)
        return f"the reader {ended}"


class Pipes:
    """A child's stdin, stdout and stderr, written and read without blocking."""

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

    def send(self, *chunks: bytes) -> None:
        """Queue `chunks`; stdin is closed once they are written (the child reads to EOF)."""
        assert self.child.stdin is not None
        self._outgoing = [memoryview(chunk) for chunk in chunks if chunk]
        self._selector.register(self.child.stdin, selectors.EVENT_WRITE)

    def pump(self, deadline: float, until_bytes: int | None = None) -> bool:
        """Move bytes until stdout ends (or holds `until_bytes`, or overflows); False if
        the deadline came first."""
        while not self._finished(until_bytes):
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return False
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    self._write()
                else:
                    self._read(key.fileobj, key.data)  # type: ignore[arg-type]
        return True

    def _finished(self, until_bytes: int | None) -> bool:
        watched = {key.fileobj for key in self._selector.get_map().values()}
        if self.overflowed or self.child.stdout not in watched:
            return True
        return until_bytes is not None and len(self.received) >= until_bytes

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
        stdin.close()

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
