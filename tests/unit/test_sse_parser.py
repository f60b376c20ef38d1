"""The incremental SSE parser: WHATWG parsing rules, and independence from how bytes are split."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from infrastructure.providers.sse import SseEvent, SseParser


def parse(*pieces: bytes) -> list[SseEvent]:
    parser = SseParser()
    events = [event for piece in pieces for event in parser.feed(piece)]
    return events + parser.close()


def test_data_line_followed_by_blank_line_is_one_message_event() -> None:
    assert parse(b"data: hello\n\n") == [SseEvent(event="message", data="hello")]


def test_event_and_id_fields_are_attached_to_the_event() -> None:
    events = parse(b"event: message_stop\nid: 7\ndata: {}\n\n")
    assert events == [SseEvent(event="message_stop", data="{}", id="7")]


def test_last_event_id_carries_over_to_later_events() -> None:
    events = parse(b"id: a\ndata: 1\n\ndata: 2\n\n")
    assert [event.id for event in events] == ["a", "a"]


def test_event_type_does_not_carry_over_to_later_events() -> None:
    events = parse(b"event: ping\ndata: 1\n\ndata: 2\n\n")
    assert [event.event for event in events] == ["ping", "message"]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse(b"data: a\ndata:b\ndata:  c\n\n")[0].data == "a\nb\n c"


def test_comments_are_keep_alives_not_events() -> None:
    assert parse(b": keep-alive\n\n:\n\ndata: x\n: between\n\n") == [SseEvent(data="x")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert parse(b"event: ping\n\n") == []


def test_empty_data_line_still_dispatches_an_empty_event() -> None:
    assert parse(b"data\n\n") == [SseEvent(data="")]


def test_crlf_cr_and_lf_line_endings_are_equivalent() -> None:
    expected = [SseEvent(event="e", data="1"), SseEvent(data="2")]
    assert parse(b"event: e\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n") == expected
    assert parse(b"event: e\rdata: 1\r\rdata: 2\r\r") == expected
    assert parse(b"event: e\ndata: 1\r\n\rdata: 2\n\r\n") == expected


def test_crlf_split_between_reads_is_one_line_end() -> None:
    assert parse(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n") == [
        SseEvent(data="1"),
        SseEvent(data="2"),
    ]


def test_utf8_character_split_between_reads_is_reassembled() -> None:
    raw = "data: 你好 🚀\n\n".encode()
    assert parse(*(raw[i : i + 1] for i in range(len(raw)))) == [SseEvent(data="你好 🚀")]


def test_leading_byte_order_mark_is_ignored() -> None:
    assert parse(b"\xef\xbb", b"\xbfdata: x\n\n") == [SseEvent(data="x")]


def test_an_event_cut_off_by_the_end_of_stream_is_dropped() -> None:
    assert parse(b"data: complete\n\ndata: cut") == [SseEvent(data="complete")]


def test_a_line_without_colon_is_a_field_with_empty_value() -> None:
    assert parse(b"event\ndata\n\n") == [SseEvent(event="message", data="")]


def test_retry_is_kept_only_when_it_is_all_digits() -> None:
    assert parse(b"retry: 1500\ndata: a\n\nretry: soon\ndata: b\n\n")[1].retry == 1500


def test_id_containing_nul_is_ignored() -> None:
    assert parse(b"id: ok\ndata: a\n\nid: b\x00d\ndata: b\n\n")[1].id == "ok"


# A field value never contains a line break (it would end the line), nor a lone surrogate.
_value = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"))
_line_end = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[SseEvent]]:
    """A serialised stream with the events a correct parser must find in it."""
    lines, expected, last_id = [], [], None
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            lines.append(":" + draw(_value))
        event = draw(st.none() | _value)
        if event is not None:
            lines.append(f"event: {event}")
        new_id = draw(st.none() | _value.filter(lambda value: "\0" not in value))
        if new_id is not None:
            lines.append(f"id: {new_id}")
            last_id = new_id
        data = draw(st.lists(_value, min_size=1, max_size=3))
        lines += [f"data: {line}" for line in data] + [""]
        expected.append(SseEvent(event=event or "message", data="\n".join(data), id=last_id))
    return join_lines(draw, lines).encode(), expected


def join_lines(draw: st.DrawFn, lines: list[str]) -> str:
    text = ""
    for line in lines:
        # After a CR, an empty line ended by LF would read as one CRLF instead of two ends.
        ends = ["\r"] if not line and text.endswith("\r") else None
        text += line + draw(st.sampled_from(ends) if ends else _line_end)
    return text


def split_at(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cut % (len(raw) + 1) for cut in cuts), len(raw)]
    return [raw[start:end] for start, end in pairwise(bounds)]


@given(event_streams())
def test_parsing_a_serialised_stream_returns_its_events(
    stream: tuple[bytes, list[SseEvent]],
) -> None:
    raw, expected = stream
    assert parse(raw) == expected


@given(event_streams(), st.lists(st.integers(min_value=0), max_size=20))
def test_any_split_of_a_stream_yields_the_same_events(
    stream: tuple[bytes, list[SseEvent]], cuts: list[int]
) -> None:
    raw, _ = stream
    assert parse(*split_at(raw, cuts)) == parse(raw)


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=20))
def test_any_split_of_arbitrary_bytes_yields_the_same_events(raw: bytes, cuts: list[int]) -> None:
    assert parse(*split_at(raw, cuts)) == parse(raw)
