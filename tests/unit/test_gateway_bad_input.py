"""A link's budget of bad frames: answered up to a rate, then dropped and counted,
with one notice a second. Time is passed in; counts only."""

from __future__ import annotations

from kernel._gateway_bad_input import (
    BAD_BYTES_PER_S,
    BAD_FRAMES_PER_S,
    NOTICE_EVERY_S,
    BadInputBudget,
)

FRAMES = int(BAD_FRAMES_PER_S)


def test_a_seconds_worth_of_small_bad_frames_is_answered_and_the_next_dropped() -> None:
    budget = BadInputBudget()
    assert all(budget.spend(100.0, 20) is None for _ in range(FRAMES))
    notice = budget.spend(100.0, 20)
    assert notice is not None and "1 dropped unanswered" in notice
    assert [budget.spend(100.0, 20) for _ in range(50)] == [""] * 50  # told once a second
    assert (budget.dropped, budget.dropped_total) == (50, 51)
    assert budget.spend(100.0 + NOTICE_EVERY_S, 20) is None  # a second on: answered again


def test_the_next_notice_counts_what_was_dropped_since_the_last() -> None:
    budget = BadInputBudget(frames=0.0, ts=10.0)
    assert budget.spend(10.0, 1) is not None
    assert [budget.spend(10.0, 1) for _ in range(7)] == [""] * 7
    budget.frames, budget.ts = 0.0, 11.0  # a second on, and still no tokens
    notice = budget.spend(11.0, 1)
    assert notice is not None and "8 dropped unanswered" in notice
    assert (budget.dropped, budget.dropped_total) == (0, 9)


def test_big_bad_frames_meet_the_byte_budget_first() -> None:
    budget = BadInputBudget()
    size = 200 * 1024
    answered = sum(budget.spend(5.0, size) is None for _ in range(FRAMES))
    assert answered == int(BAD_BYTES_PER_S // size)  # 5 of 200 kB in a MiB
    assert budget.dropped_total == FRAMES - answered


def test_a_frame_larger_than_a_seconds_bytes_can_still_be_answered() -> None:
    budget = BadInputBudget()
    assert budget.spend(1.0, 16 * 1024 * 1024) is None


def test_the_budget_refills_with_time_and_a_clock_stepping_back_gives_nothing() -> None:
    budget = BadInputBudget()
    for _ in range(FRAMES):
        budget.spend(50.0, 10)
    assert budget.spend(49.0, 10) is not None  # back in time: no tokens
    assert budget.spend(49.0 + 0.5, 10) is None  # half a second after: 50 back
    assert sum(budget.spend(49.5, 10) is None for _ in range(FRAMES)) == FRAMES // 2 - 1
