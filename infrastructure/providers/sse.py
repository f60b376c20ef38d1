"""Incremental Server-Sent Events parser, following the WHATWG event-stream rules.

Feed it bytes exactly as they arrive from the network, in pieces of any size;
it returns the events those bytes completed. No I/O happens here.
"""

from __future__ import annotations

import codecs
import re

import msgspec

_LINE_END = re.compile(r"\r\n|\r|\n")


class SseEvent(msgspec.Struct, frozen=True):
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SseParser:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._at_stream_start = True
        # A CR ending one read may be the first half of a CRLF split across reads.
        self._skip_leading_lf = False
        self._event_type = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, data: bytes) -> list[SseEvent]:
        return self._take_text(self._decoder.decode(data))

    def close(self) -> list[SseEvent]:
        """End of stream; per the spec an event without its blank line is dropped."""
        events = self._take_text(self._decoder.decode(b"", final=True))
        self._pending = ""
        return events

    def _take_text(self, text: str) -> list[SseEvent]:
        if self._at_stream_start and text:
            self._at_stream_start = False
            text = text.removeprefix("\ufeff")
        if self._skip_leading_lf and text:
            self._skip_leading_lf = False
            text = text.removeprefix("\n")
        if not text:
            return []
        buffer = self._pending + text
        events: list[SseEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            event = self._take_line(buffer[start : match.start()])
            if event is not None:
                events.append(event)
            start = match.end()
        self._pending = buffer[start:]
        self._skip_leading_lf = buffer.endswith("\r")
        return events

    def _take_line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._take_field(name, value)
        return None

    def _take_field(self, name: str, value: str) -> None:
        if name == "event":
            self._event_type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> SseEvent | None:
        event_type, data = self._event_type, self._data
        self._event_type, self._data = "", []
        if not data:
            return None
        return SseEvent(
            event=event_type or "message",
            data="\n".join(data),
            id=self._last_id,
            retry=self._retry,
        )
