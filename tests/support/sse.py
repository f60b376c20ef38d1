"""Reading server-sent events the way a client does."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from api.sse import encode
from application.reply_frames import Frame


@dataclass
class Event:
    id: int
    event: str
    data: dict[str, Any]


def events(response: httpx.Response) -> Iterator[Event]:
    """Frames of an SSE response, as they arrive; comments (keep-alives) are skipped."""
    return parsed(response.iter_lines())


def as_sent(frame: Frame) -> Event:
    """A frame the application yields, as an SSE client reads it."""
    return next(parsed(encode(frame).decode().split("\n")))


def parsed(lines: Iterable[str]) -> Iterator[Event]:
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                yield Event(
                    int(fields.get("id", "0")),
                    fields.get("event", "message"),
                    json.loads(fields["data"]),
                )
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
