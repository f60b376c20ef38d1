"""What the sync and async transports share: where things are, and how a call becomes a request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from llmchat.api_call import ApiCall
from llmchat.credentials import Credentials
from llmchat.version import VERSION

DEFAULT_BASE_URL = "http://localhost:3001/api"
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
"""Reads may wait a while: a blocking completion answers only once the model is done."""
USER_AGENT = f"llmchat-client-python/{VERSION}"
API_SUFFIX = re.compile(r"/api(/v\d+)?$")


@dataclass(frozen=True)
class ServerUrls:
    """The API base (`.../api`) and the server root, where /health and /uploads live."""

    api: str
    root: str

    @classmethod
    def of(cls, base_url: str) -> ServerUrls:
        api = base_url.rstrip("/")
        return cls(api=api, root=API_SUFFIX.sub("", api))

    def of_call(self, call: ApiCall[Any]) -> str:
        return f"{self.root if call.from_root else self.api}/{call.path}"


@dataclass(frozen=True)
class StreamPolicy:
    """How hard a stream tries to resume after its connection drops."""

    resume_attempts: int = 5
    """Attempts in a row without a new frame before giving up."""
    first_delay: float = 0.1
    max_delay: float = 2.0

    def delay(self, failures: int) -> float:
        return min(self.first_delay * 2.0 ** (failures - 1), self.max_delay)


RETRYABLE_STATUSES = frozenset({502, 503, 504})


class TransportBase:
    def __init__(
        self, urls: ServerUrls, credentials: Credentials, stream_policy: StreamPolicy
    ) -> None:
        self.urls = urls
        self.credentials = credentials
        self.stream_policy = stream_policy

    def build(self, http: httpx.Client | httpx.AsyncClient, call: ApiCall[Any]) -> httpx.Request:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **call.headers}
        if call.authenticated:
            headers.update(self.credentials.bearer())
        content = None
        if call.json is not None:
            content = msgspec.json.encode(call.json)
            headers["Content-Type"] = "application/json"
        files = {"file": (call.file.filename, call.file.rewound())} if call.file else None
        return http.build_request(
            call.method,
            self.urls.of_call(call),
            params=call.params,
            headers=headers,
            content=content,
            files=files,
            data=dict(call.form) if call.form else None,
        )
