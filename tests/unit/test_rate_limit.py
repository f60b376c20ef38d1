"""The in-process sliding window: the same rules the Redis script keeps."""

import pytest

from api.rate_limit import limit_for
from infrastructure.rate_limit import LocalSlidingWindow
from infrastructure.settings import Settings


def hits(window, key, limit, now, count):
    return [window.hit_now(key, limit, now) for _ in range(count)]


def test_allows_up_to_the_limit_then_refuses_with_retry_after():
    window = LocalSlidingWindow(60)
    allowed = hits(window, "user:a", 3, 1000.0, 3)
    assert [d.allowed for d in allowed] == [True, True, True]
    assert [d.remaining for d in allowed] == [2, 1, 0]
    refused = window.hit_now("user:a", 3, 1010.0)
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after == 50  # the oldest leaves the window at 1060
    assert refused.limit == 3


def test_the_window_slides_instead_of_resetting_all_at_once():
    window = LocalSlidingWindow(60)
    window.hit_now("k", 2, 0.0)
    window.hit_now("k", 2, 30.0)
    assert not window.hit_now("k", 2, 59.0).allowed
    freed = window.hit_now("k", 2, 60.5)  # only the first has left
    assert freed.allowed and freed.remaining == 0
    assert not window.hit_now("k", 2, 61.0).allowed


def test_refused_requests_do_not_extend_the_wait():
    window = LocalSlidingWindow(60)
    window.hit_now("k", 1, 0.0)
    for moment in range(1, 60):
        assert not window.hit_now("k", 1, float(moment)).allowed
    assert window.hit_now("k", 1, 60.1).allowed


def test_only_the_first_refusal_in_a_window_is_marked_for_the_audit_trail():
    window = LocalSlidingWindow(60)
    window.hit_now("k", 1, 0.0)
    marks = [window.hit_now("k", 1, t).first_refusal for t in (1.0, 2.0, 30.0)]
    assert marks == [True, False, False]
    window.hit_now("k", 1, 61.0)  # allowed again
    assert window.hit_now("k", 1, 62.0).first_refusal  # a new window, a new mark


def test_keys_have_separate_budgets():
    window = LocalSlidingWindow(60)
    assert window.hit_now("ip:1", 1, 0.0).allowed
    assert not window.hit_now("ip:1", 1, 0.0).allowed
    assert window.hit_now("ip:2", 1, 0.0).allowed


def test_reset_is_when_the_whole_window_is_clear():
    window = LocalSlidingWindow(60)
    window.hit_now("k", 5, 0.0)
    decision = window.hit_now("k", 5, 20.0)
    assert decision.reset_after == 60  # the newest leaves at 80


def test_idle_keys_are_forgotten():
    window = LocalSlidingWindow(60)
    window.hit_now("old", 5, 0.0)
    window.hit_now("new", 5, 200.0)
    assert "old" not in window.allowed and "new" in window.allowed


@pytest.mark.parametrize(
    ("role", "limit"), [("user", 2000), ("enterprise", 5000), ("admin", 5000), ("other", 2000)]
)
def test_limits_by_role_are_the_specs(role, limit):
    assert limit_for(role, Settings()) == limit
