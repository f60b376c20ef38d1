"""The audit trail's rules, in memory: what each event becomes, and what breaks the chain."""

import dataclasses
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.access_audit import RecentRefusals
from application.audit_log import audit_query
from application.errors import ValidationFailed
from domain.catalogue import EVENT_MODULES
from domain.conversation import ReplyFinished, UserMessagePosted
from domain.events import Recorded, event_type, known_names
from domain.user import UserRegistered
from projections.audit_chain import GENESIS, ChainedEntry, chained_hash, verify
from projections.audit_entries import AUDITED, NOT_AUDITED, AuditEntry, entry_of


def recorded(event: object, position: int = 1, meta: dict[str, str] | None = None) -> Recorded:
    return Recorded(str(uuid.uuid4()), 1, position, "2025-10-18T10:30:00.000Z", event, meta)


def test_every_stored_event_type_is_either_audited_or_knowingly_not():
    assert EVENT_MODULES  # every module that defines stored events is loaded
    names = set(known_names())
    assert AUDITED.isdisjoint(NOT_AUDITED)
    assert names - AUDITED - NOT_AUDITED == set(), "decide: audit these or list them as not"
    assert (AUDITED | NOT_AUDITED) - names == set(), "no longer stored events"


@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_each_audited_type_makes_one_entry_and_the_others_none(data):
    for name in sorted(AUDITED | NOT_AUDITED):
        event = data.draw(st.from_type(event_type(name)), label=name)
        if isinstance(event, ReplyFinished):
            event = dataclasses.replace(event, outcome="cancelled")
        entry = entry_of(recorded(event), lambda resource: "owner")
        assert (entry is not None) == (name in AUDITED), name


def test_a_registration_carries_the_new_user_and_the_request_it_came_from():
    user = str(uuid.uuid4())
    registered = UserRegistered(
        user_id=user, email="a@b.io", name="A", role="user", password_hash="h"
    )
    meta = {"ip": "10.1.2.3", "userAgent": "tests", "requestId": "req-1"}
    entry = entry_of(recorded(registered, meta=meta), lambda resource: None)
    assert entry is not None
    assert (entry.action, entry.user_id, entry.resource, entry.outcome) == (
        "auth.register",
        user,
        f"users/{user}",
        "success",
    )
    assert (entry.ip, entry.user_agent, entry.request_id) == ("10.1.2.3", "tests", "req-1")


def test_chat_events_name_the_sessions_owner():
    posted = UserMessagePosted(session_id="s", message_id="m", content="hi")
    entry = entry_of(recorded(posted), lambda resource: {"session:s": "owner-1"}.get(resource))
    assert entry is not None
    assert (entry.action, entry.user_id) == ("chat.send", "owner-1")
    completed = ReplyFinished(
        session_id="s", message_id="r", outcome="completed", content="", finish_reason="stop"
    )
    assert entry_of(recorded(completed), lambda resource: None) is None


def chain_of(count: int) -> list[ChainedEntry]:
    links, previous = [], GENESIS
    for position in range(1, count + 1):
        entry = AuditEntry(
            id=str(uuid.uuid4()),
            position=position,
            timestamp="2025-10-18T10:30:00.000Z",
            user_id="u",
            action="auth.login",
            resource="sign-ins/f",
            outcome="success",
            details=None,
            ip="10.0.0.1",
            user_agent="ua",
            request_id=None,
        )
        digest = chained_hash(previous, entry)
        links.append(ChainedEntry(entry, previous, digest))
        previous = digest
    return links


def test_an_untouched_chain_verifies():
    links = chain_of(4)
    verdict = verify(links, (4, links[-1].hash))
    assert verdict.intact and verdict.entries == 4


def test_an_altered_entry_breaks_the_chain_at_that_entry():
    links = chain_of(4)
    altered = dataclasses.replace(links[2].entry, ip="192.0.2.1")
    links[2] = dataclasses.replace(links[2], entry=altered)
    verdict = verify(links, (4, links[-1].hash))
    assert not verdict.intact and verdict.broken_at == altered


def test_a_removed_or_moved_entry_breaks_the_chain_after_it():
    links = chain_of(4)
    assert verify([links[0], links[2], links[3]], (4, links[-1].hash)).broken_at == links[2].entry
    assert verify([links[1], links[0], *links[2:]], (4, links[-1].hash)).broken_at == links[1].entry


def test_a_removed_last_entry_shows_against_the_head():
    links = chain_of(4)
    verdict = verify(links[:3], (4, links[-1].hash))
    assert not verdict.intact and verdict.broken_at is None


def test_audit_dates_are_iso_and_an_end_date_includes_its_day():
    query = audit_query(1, 20, None, None, "2025-10-18", "2025-10-18")
    assert query.start is not None and query.end is not None
    assert (query.end - query.start).days == 1
    with pytest.raises(ValidationFailed):
        audit_query(1, 20, None, None, "18/10/2025", None)
    with pytest.raises(ValidationFailed):
        audit_query(1, 20, None, None, None, "2025-13-01")
    with pytest.raises(ValidationFailed):
        audit_query(1, 101, None, None, None, None)


def test_refusals_are_recorded_once_a_window_per_address_path_and_status():
    recent = RecentRefusals(window=60, size=100)
    key = ("10.0.0.1", "/api/admin/stats", 403)
    assert recent.first(key, now=0)
    assert not recent.first(key, now=30)
    assert recent.first(("10.0.0.1", "/api/admin/stats", 401), now=30)
    assert recent.first(key, now=61)
