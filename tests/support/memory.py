"""The largest resident memory a process reaches while a block of a test runs."""

import contextlib
import threading
from types import TracebackType

import psutil

MiB = 1024 * 1024


class PeakMemory:
    """Samples the RSS of `pid` every `interval` seconds from a thread; the test asserts on
    `growth` after the block (nothing is asserted in the thread)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def growth(self) -> int:
        return self.peak - self.before

    def __enter__(self) -> "PeakMemory":
        self.before = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._measure()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._measure()

    def _measure(self) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            self.peak = max(self.peak, self.process.memory_info().rss)
