import pytest

from application.errors import StreamConflict
from application.ports import PendingEvent
from domain.user import EmailClaimed
from tests.unit.fakes import in_memory_store

STREAM = "0b7f8a2e-2c52-4c7a-9a47-1f9d3f7a0c11"


def claim(user="u1"):
    return EmailClaimed(email="a@b.io", user_id=user)


def test_events_read_back_as_written_with_positions_and_timestamps():
    store = in_memory_store()
    store.append([PendingEvent(STREAM, 1, claim())])
    [recorded] = store.read_all(0, 10)
    assert recorded.event == claim()
    assert recorded.position == 1 and recorded.version == 1
    assert recorded.timestamp.endswith("Z")


def test_a_taken_version_is_a_conflict_and_nothing_of_the_batch_is_kept():
    store = in_memory_store()
    store.append([PendingEvent(STREAM, 1, claim())])
    other = "5c3e0a47-7d4e-4f0e-8a9c-2b1d0e6f7a12"
    with pytest.raises(StreamConflict):
        store.append([PendingEvent(other, 1, claim("u2")), PendingEvent(STREAM, 1, claim("u2"))])
    assert store.read(other) == []
