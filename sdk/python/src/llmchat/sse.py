"""An incremental server-sent events decoder: bytes in, whole events out.

Bytes may be split anywhere, inside a line or inside a UTF-8 character; lines may end in
CRLF, LF or CR. An event is dispatched only at its blank line, so an event cut off by a
dropped connection is never seen (the stream is resumed from the last whole one instead).
Comment lines (`: keep-alive`) are skipped.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Only these end a line in SSE; str.splitlines would also split on U+2028 and friends,
# which JSON may carry unescaped.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None


class SSEDecoder:
    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._after_cr = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by `chunk`."""
        text = self._text.decode(chunk)
        if not text:
            return []  # only part of a UTF-8 character so far
        if self._after_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF that was split between two chunks
        self._after_cr = text.endswith("\r")
        *lines, self._pending = LINE_BREAK.split(self._pending + text)
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerSentEvent(event or "message", "\n".join(data), self._id)
