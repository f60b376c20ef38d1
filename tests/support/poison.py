"""Events as a route that let outside text through unchecked would have stored them, written
straight into the event store: what the projections must survive."""

import uuid

from application.ports import PendingEvent
from domain.file import FileUploaded
from domain.security import SignInFailed
from infrastructure.event_store import RecorderEventStore


def append(store: RecorderEventStore, event: object, stream: str | None = None) -> int:
    """Append `event` as the first of its stream; its log position."""
    [position] = store.append([PendingEvent(stream or str(uuid.uuid4()), 1, event)])
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
