"""Who asked, from where, under which request id: attached to every event a request appends.

The API sets it once per request (api/app.py); the event store writes it beside each event's
payload (never inside it), so events of every kind carry their origin for the audit trail
without any event class growing fields. Worker threads started with `anyio.to_thread`
inherit it; events written by background writers (reply chunks) simply have none.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

# Keys: "ip", "userAgent", "requestId", "userId" (each only when known).
RequestMetadata = Mapping[str, str]

_CURRENT: ContextVar[RequestMetadata | None] = ContextVar("llmchat_request_metadata", default=None)


def current() -> RequestMetadata | None:
    return _CURRENT.get()


def attach(metadata: RequestMetadata) -> None:
    """For the rest of this request (this task, and the threads it starts from here on)."""
    _CURRENT.set({key: value for key, value in metadata.items() if value})


@contextmanager
def attached(metadata: RequestMetadata) -> Iterator[None]:
    token = _CURRENT.set({key: value for key, value in metadata.items() if value})
    try:
        yield
    finally:
        _CURRENT.reset(token)
