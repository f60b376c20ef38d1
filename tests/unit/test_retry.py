"""The one retry policy: a use case that lost a race runs again, a bounded number of times,
and then answers as the use case says (or with a plain Conflict)."""

import pytest

from application import retry
from application.errors import Conflict, StreamConflict
from application.retry import rerun_on_conflict, rerun_on_conflict_or


def losing(times: int, runs: list[str]):
    def use_case(name: str) -> str:
        runs.append(name)
        if len(runs) <= times:
            raise StreamConflict("another writer came first")
        return f"done by {name}"

    return use_case


def test_a_use_case_that_lost_a_race_runs_again_and_succeeds():
    runs: list[str] = []
    assert rerun_on_conflict(losing(3, runs))("a") == "done by a"
    assert runs == ["a"] * 4


def test_runs_stop_after_the_attempts_with_the_use_cases_own_answer():
    runs: list[str] = []

    def busy(name: str) -> Conflict:
        return Conflict(f"{name} is busy; try again")

    with pytest.raises(Conflict, match="a is busy"):
        rerun_on_conflict_or(busy)(losing(100, runs))("a")
    assert len(runs) == retry.ATTEMPTS


def test_without_an_answer_of_its_own_it_is_a_conflict():
    with pytest.raises(Conflict):
        rerun_on_conflict(losing(100, []))("a")


def test_other_errors_are_not_run_again():
    runs: list[str] = []

    def refused(name: str) -> str:
        runs.append(name)
        raise ValueError("no")

    with pytest.raises(ValueError):
        rerun_on_conflict(refused)("a")
    assert runs == ["a"]
