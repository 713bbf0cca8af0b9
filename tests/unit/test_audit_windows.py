"""The auditor's burst windows count any rate of events in bounded memory."""

from __future__ import annotations

from agents.audit.config import Burst
from agents.audit.windows import STEPS, Windows

DENIALS = Burst(count=10, window_s=60.0)


def test_a_flood_of_events_keeps_a_bounded_number_of_steps_and_counts_them_all() -> None:
    windows = Windows(DENIALS, keys=4)
    tally = None
    for n in range(200_000):  # 10,000 a second for 20 s: once, one entry per event
        tally = windows.add("bot qe", n / 10_000, ("halted", "open_orders_limit")[n % 2])
    assert tally is not None and sum(tally.values()) == 200_000
    assert tally == {"halted": 100_000, "open_orders_limit": 100_000}
    assert windows.most_steps() <= STEPS + 2


def test_steps_leave_the_window_and_take_their_counts_with_them() -> None:
    windows = Windows(DENIALS, keys=4)
    for n in range(120_000):  # 2,000 a second for 60 s
        windows.add("bot qe", n / 2_000, "halted")
    tally = windows.add("bot qe", 200.0, "halted")  # two minutes later: alone again
    assert tally is None and windows.most_steps() == 1
    assert [windows.add("bot qe", 200.0 + i, "halted") for i in range(1, 9)] == [None] * 8
    assert windows.add("bot qe", 209.0, "halted") == {"halted": 10}


def test_events_further_apart_than_a_step_are_counted_exactly_at_the_edge() -> None:
    windows = Windows(DENIALS, keys=4)
    for n in range(9):
        assert windows.add("bot qe", n * 6.0, "halted") is None
    assert windows.add("bot qe", 54.0, "halted") == {"halted": 10}  # 0 to 54 s: ten
    assert windows.add("bot qe", 60.5, "halted") == {"halted": 10}  # the one at 0 s left


def test_a_clock_stepping_back_cannot_grow_a_window_past_its_bound() -> None:
    windows = Windows(DENIALS, keys=4)
    for n in range(10_000):
        windows.add("bot qe", 1_000.0 - n * 0.001, "halted")  # every event earlier than the last
    assert windows.most_steps() <= STEPS + 2
