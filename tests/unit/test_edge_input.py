"""What the edge lets through to the event log (issue 13, items 1 and 8): text no event
can hold, ids in any form but the canonical one, JSON too deep, pages past any offset."""

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.request_body import TOO_DEEP, UnstorableText, decoded_json, refuse_unstorable
from application.audit_log import audit_query
from application.errors import ValidationFailed
from application.paging import MAX_PAGE, check_page
from application.ports import PendingEvent
from domain.conversation import ConversationTitled
from domain.file import File
from domain.ids import is_uuid
from domain.text import cleaned, storable, unstorable_at
from infrastructure.event_store import UnstorableEvent
from tests.unit.fakes import in_memory_store

PASSWORD = "long-enough-1"
UNSTORABLE = ["\x00", "\ud800", "\udfff"]


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", UNSTORABLE)
def test_nul_and_lone_surrogates_are_unstorable_and_cleaned_away(bad):
    text = f"ab{bad}cd"
    assert unstorable_at(text) == 2
    assert cleaned(text) == "abcd"
    assert storable(text, 3) == "abc"


def test_other_text_is_storable_as_it_is():
    for text in ("", "plain", "tab\tand\nnewline", "\u202eRTL", "emoji \U0001f600", "\x01\x1f"):
        assert unstorable_at(text) is None
        assert cleaned(text) == text


@given(st.text(), st.integers(min_value=0, max_value=50))
def test_storable_text_is_always_storable_and_bounded(text, limit):
    kept = storable(text, limit)
    assert unstorable_at(kept) is None
    assert len(kept) <= limit
    assert kept == "".join(c for c in text if unstorable_at(c) is None)[:limit]


# --- request bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a\x00@b.io", "password": "x"}, "email"),
        (
            {"messages": [{"role": "user", "content": "ok"}, {"content": "a\x00"}]},
            "messages[1].content",
        ),
        ({"config": {"model": ["x", "\ud800"]}}, "config.model[1]"),
        ({"a\x00": 1}, "'a\\x00'"),
        ("\x00", "body"),
    ],
)
def test_the_first_unstorable_string_is_named_by_its_field(body, field):
    with pytest.raises(UnstorableText) as refused:
        refuse_unstorable(body)
    assert refused.value.field == field
    assert refused.value.details.startswith(f"{field}: must not contain U+")


def test_a_json_body_holding_an_escaped_nul_is_refused():
    with pytest.raises(UnstorableText) as refused:
        decoded_json(b'{"title": "a\\u0000b"}')
    assert refused.value.field == "title"
    # A written backslash before "u0000" is text like any other.
    assert decoded_json(b'{"title": "a\\\\u0000b"}') == {"title": "a\\u0000b"}


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_nested_too_deep_is_a_validation_error(depth):
    with pytest.raises(ValidationFailed) as refused:
        decoded_json(b"[" * depth + b"]" * depth)
    assert refused.value.details == TOO_DEEP


def test_the_check_walks_as_deep_as_the_decoder_goes():
    deep: Any = "\x00"
    for _ in range(900):
        deep = [deep]
    with pytest.raises(UnstorableText) as refused:
        decoded_json(json.dumps(deep))
    assert refused.value.field == "[0]" * 900


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings_in(item)]]
    return []


@given(json_values)
def test_a_value_is_refused_exactly_when_some_string_in_it_is_unstorable(value):
    unstorable = any(unstorable_at(s) is not None for s in strings_in(value))
    try:
        refuse_unstorable(value)
    except UnstorableText:
        assert unstorable
    else:
        assert not unstorable


# --- ids -----------------------------------------------------------------------------------

SOME_ID = uuid.UUID("0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b")


@pytest.mark.parametrize(
    "spelling",
    [
        f"urn:uuid:{SOME_ID}",
        f"{{{SOME_ID}}}",
        str(SOME_ID).upper(),
        SOME_ID.hex,
        f" {SOME_ID}",
        f"{SOME_ID}\n",
        "",
        "not-a-uuid",
        str(SOME_ID).replace("1", "\uff11"),  # fullwidth digits
    ],
)
def test_only_the_canonical_spelling_of_a_uuid_is_an_id(spelling):
    assert not is_uuid(spelling)
    assert is_uuid(str(SOME_ID))


@given(st.uuids())
def test_every_uuid_in_canonical_form_is_an_id(value):
    assert is_uuid(str(value))
    assert not is_uuid(value.urn)
    assert not is_uuid(value.hex)


def titled(text: str) -> ConversationTitled:
    return ConversationTitled(session_id=str(SOME_ID), title=text)


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
def test_the_event_store_refuses_an_event_no_read_model_could_apply(text):
    store = in_memory_store()
    with pytest.raises(UnstorableEvent):
        store.append([PendingEvent(str(uuid.uuid4()), 1, titled(text))])
    assert store.read_all(0, 10) == []


def test_the_event_store_keeps_a_written_backslash_u0000():
    store = in_memory_store()
    stream = str(uuid.uuid4())
    store.append([PendingEvent(stream, 1, titled("C:\\u0000"))])
    assert store.read(stream)[0].event == titled("C:\\u0000")


def test_the_event_store_knows_streams_by_their_canonical_id_only():
    store = in_memory_store()
    stream = uuid.uuid4()
    store.append([PendingEvent(str(stream), 1, titled("x"))])
    for other in (stream.urn, f"{{{stream}}}", str(stream).upper(), stream.hex):
        assert store.read(other) == []
        assert store.latest_type(other) is None
        with pytest.raises(UnstorableEvent):
            store.append([PendingEvent(other, 2, titled("x"))])
    assert len(store.read(str(stream))) == 1


# --- what comes from elsewhere is cleaned before it is an event ----------------------------


def test_a_parser_message_and_a_file_name_are_kept_as_events_can_hold_them():
    upload = File.upload(
        file_id=str(uuid.uuid4()),
        owner_id=str(uuid.uuid4()),
        original_name="dir/pla\x00n\ud800.dxf",
        extension="dxf",
        file_type="cad",
        content_type="application/dxf",
        size=10,
        sha256="0" * 64,
        description="",
    )
    assert upload.original_name == "plan.dxf"
    file = upload
    failed = file.record_unreadable_drawing("bad group code '\x00\x00'" + "x" * 5000)
    assert unstorable_at(failed.details) is None
    assert len(failed.details) <= 1000


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [0, -1, MAX_PAGE + 1, 9223372036854775808, 2**64])
def test_a_page_past_any_offset_is_refused(page):
    with pytest.raises(ValidationFailed, match="page"):
        check_page(page, 20)
    with pytest.raises(ValidationFailed, match="page"):
        audit_query(page, 20, None, None, None, None)
    check_page(MAX_PAGE, 100)  # its offset still fits a bigint
    assert (MAX_PAGE - 1) * 100 < 2**63


def test_an_audit_filter_by_user_takes_only_a_canonical_id():
    assert audit_query(1, 20, str(SOME_ID), None, None, None).user_id == str(SOME_ID)
    with pytest.raises(ValidationFailed, match="userId"):
        audit_query(1, 20, SOME_ID.urn, None, None, None)
