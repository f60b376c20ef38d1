"""The seam between a reply's stored text and its continuation: a repeated tail is dropped
once, nothing else is."""

from hypothesis import assume, given
from hypothesis import strategies as st

from domain.continuation import MAX_OVERLAP, MIN_OVERLAP, Seam, overlap, settled

# Few letters, so tails repeat often; enough that a chance overlap is not the rule.
texts = st.text(alphabet="abcdef 你🚀\n", max_size=120)


def natural_overlap(stored: str, rest: str) -> bool:
    """The rest of a text begins, by chance, with a tail of what came before that is long
    enough to count, or is whitespace (the seam cannot tell those from a repeat)."""
    return any(
        rest.startswith(tail) and (len(tail) >= MIN_OVERLAP or tail.isspace())
        for tail in (stored[-k:] for k in range(1, len(stored) + 1))
    )


@given(st.text(alphabet="abcdef 你🚀\n", min_size=MIN_OVERLAP, max_size=120), texts, st.data())
def test_a_repeated_tail_is_dropped_and_the_text_is_whole(
    stored: str, rest: str, data: st.DataObject
) -> None:
    repeat = data.draw(st.integers(MIN_OVERLAP, min(len(stored), MAX_OVERLAP)))
    assume(not natural_overlap(stored, rest))
    continuation = stored[len(stored) - repeat :] + rest
    assert stored + continuation[overlap(stored, continuation) :] == stored + rest


@given(texts, texts)
def test_a_continuation_that_repeats_nothing_is_kept_whole(stored: str, rest: str) -> None:
    assume(not natural_overlap(stored, rest))
    assert overlap(stored, rest) == 0
    assert settled(stored, rest) or len(rest) < MAX_OVERLAP


@given(texts, texts)
def test_the_seam_drops_only_a_prefix_that_is_the_stored_tail(stored: str, head: str) -> None:
    dropped = overlap(stored, head)
    assert 0 <= dropped <= min(len(head), MAX_OVERLAP)
    assert stored.endswith(head[:dropped])


@given(texts, texts, texts)
def test_once_settled_more_text_does_not_change_the_seam(stored: str, head: str, more: str) -> None:
    assume(settled(stored, head))
    assert overlap(stored, head + more) == overlap(stored, head)


def test_a_short_coincidence_is_not_an_overlap() -> None:
    assert overlap("the cat sat on the", "re was a mat") == 0
    assert overlap("banana", "na split") == 0


def test_whitespace_left_out_of_a_prefill_and_written_again_is_dropped() -> None:
    assert overlap("Hello from the ", " fake provider") == 1
    assert overlap("Hello from the\n\n", "\n\nNext") == 2


def test_an_empty_stored_text_has_no_seam() -> None:
    assert overlap("", "anything") == 0
    assert settled("", "")


@given(texts, st.lists(texts, max_size=6))
def test_a_seam_fed_piece_by_piece_passes_what_the_whole_would(
    stored: str, pieces: list[str]
) -> None:
    seam = Seam(stored)
    passed = "".join(seam.take(piece) for piece in pieces) + seam.close()
    whole = "".join(pieces)
    assert passed == whole[overlap(stored, whole) :]
