"""Events as a route that let outside text through unchecked would have stored them, written
straight into the event log: what the projections must survive.

The event store now refuses to append what no read model can apply (U+0000 among it), but a
log written before it did holds such events forever; these are written the way the store
wrote them then, past its check.
"""

import uuid
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.ports import PendingEvent
from domain.events import name_of
from domain.file import FileUploaded
from domain.security import SignInFailed
from domain.timestamps import iso_millis
from infrastructure.event_store import RecorderEventStore


def append_unchecked(store: RecorderEventStore, events: Sequence[PendingEvent]) -> list[int]:
    """Append as the store did before it checked what it stores; the positions."""
    envelope = {"timestamp": iso_millis(store.clock.now())}
    stored = [
        StoredEvent(
            originator_id=UUID(pending.stream_id),
            originator_version=pending.version,
            topic=name_of(pending.event),
            state=store.encoder.encode({**envelope, "data": pending.event}),
        )
        for pending in events
    ]
    return list(store.recorder.insert_events(stored) or [])


def append(store: RecorderEventStore, event: object, stream: str | None = None) -> int:
    """Append `event` as the first of its stream, unchecked; its log position."""
    [position] = append_unchecked(store, [PendingEvent(stream or str(uuid.uuid4()), 1, event)])
    return position


def upload(store: RecorderEventStore, owner: str, name: str, description: str = "") -> str:
    """A file uploaded by `owner`; its id."""
    file_id = str(uuid.uuid4())
    uploaded = FileUploaded(
        file_id=file_id,
        owner_id=owner,
        original_name=name,
        extension="txt",
        file_type="document",
        content_type="text/plain",
        size=3,
        sha256="0" * 64,
        description=description,
    )
    append(store, uploaded, file_id)
    return file_id


def failed_sign_in(store: RecorderEventStore, email: str) -> int:
    """A failed sign-in for an unknown address, as anyone can cause one; its position."""
    failed = SignInFailed(
        email=email, user_id=None, reason="unknown_email", ip="10.0.0.1", user_agent="t"
    )
    return append(store, failed)
