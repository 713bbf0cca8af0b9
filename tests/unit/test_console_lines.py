"""One console line a second per kind of anomaly; the rest counted and said later."""

from __future__ import annotations

from kernel._console_lines import LineBudget, held_words


def test_the_first_line_of_a_kind_is_told_and_the_rest_of_its_second_counted() -> None:
    lines = LineBudget(every_s=1.0)
    assert lines.admit("anomaly bad_frame", 10.0) == (True, 0)
    assert [lines.admit("anomaly bad_frame", 10.0 + i / 100) for i in range(1, 58)] \
        == [(False, 0)] * 57
    assert lines.admit("anomaly link_flooded", 10.5) == (True, 0)  # each kind its own
    assert lines.admit("anomaly bad_frame", 11.0) == (True, 57)  # said with the next


def test_a_kind_gone_quiet_has_its_count_said_once_its_second_has_passed() -> None:
    lines = LineBudget(every_s=1.0)
    lines.admit("anomaly bad_frame", 10.0)
    lines.admit("anomaly bad_frame", 10.2)
    lines.admit("anomaly bad_frame", 10.4)
    assert lines.overdue(10.9) == []
    assert lines.overdue(11.0) == [("anomaly bad_frame", 2)]
    assert lines.overdue(12.5) == []  # said once
    assert lines.admit("anomaly bad_frame", 11.5) == (False, 0)  # the saying was its line
    assert lines.admit("anomaly bad_frame", 12.0) == (True, 1)


def test_the_kinds_remembered_are_bounded_the_least_recently_told_forgotten() -> None:
    lines = LineBudget(every_s=1.0, kinds_kept=3)
    for n in range(3):
        lines.admit(f"anomaly k{n}", 10.0)
    lines.admit("anomaly k0", 10.5)  # held: k0's count waits
    lines.admit("anomaly k3", 10.6)  # the 4th kind: k0, least recently told, goes
    assert "anomaly k0" not in lines.held
    assert lines.admit("anomaly k0", 10.7) == (True, 0)  # forgotten: told afresh


def test_a_budget_of_zero_seconds_tells_every_line() -> None:
    lines = LineBudget(every_s=0.0)
    assert all(lines.admit("anomaly x", 10.0) == (True, 0) for _ in range(5))


def test_the_count_is_said_in_words_that_say_where_each_line_is() -> None:
    assert held_words(57) == ("(and 57 more of this kind within 1 s: kernel tap or the "
                              "journal has each)")
