"""`ApiCall`: one HTTP exchange described as data, and how to turn its answer into a value.

The routes build these (see `llmchat.routes`); the sync and async transports send them. So
every route is written once, whichever client sends it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Generic, TypeVar, cast

import httpx
import msgspec

from llmchat.models.base import Envelope

ResultT = TypeVar("ResultT")
Decode = Callable[[httpx.Response], ResultT]


@dataclass(frozen=True)
class FilePart:
    """A file for a multipart body; a stream is rewound before each (re)send."""

    filename: str
    content: bytes | IO[bytes]
    start: int = 0

    def rewound(self) -> bytes | IO[bytes]:
        if not isinstance(self.content, bytes):
            self.content.seek(self.start)
        return self.content


@dataclass(frozen=True)
class ApiCall(Generic[ResultT]):
    method: str
    path: str
    """Under the API base URL (`.../api`), or under the server's root when `from_root`."""
    decode: Decode[ResultT]
    params: Mapping[str, str | int] | None = None
    json: Any = None
    file: FilePart | None = None
    form: Mapping[str, str] = field(default_factory=dict)
    authenticated: bool = True
    """Send the bearer token, and refresh it once if the answer is 401."""
    from_root: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


def query(**values: str | int | None) -> dict[str, str | int]:
    """Query parameters, camelCased, leaving out those that are None."""
    return {camel(name): value for name, value in values.items() if value is not None}


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


@functools.cache
def _envelope_decoder(data_type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(Envelope[data_type])


def envelope(data_type: type[ResultT]) -> Decode[ResultT]:
    """Decode the success envelope and return its `data` as `data_type`."""

    def decode(response: httpx.Response) -> ResultT:
        decoder = _envelope_decoder(cast(Any, data_type))
        return cast(ResultT, decoder.decode(response.content).data)

    return decode


def plain_json(data_type: type[ResultT]) -> Decode[ResultT]:
    """Decode a body that is not enveloped (the health checks)."""

    def decode(response: httpx.Response) -> ResultT:
        return msgspec.json.decode(response.content, type=data_type)

    return decode


def text(response: httpx.Response) -> str:
    return response.text


def raw_bytes(response: httpx.Response) -> bytes:
    return response.content


def nothing(response: httpx.Response) -> None:
    return None
