"""The spinning selector: it polls for a moment after work, never when idle."""

from __future__ import annotations

import asyncio
import selectors
import socket

from kernel.spin import PROBE_EVERY, SpinBudget, SpinningSelector


def pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def test_after_work_it_catches_input_that_arrives_while_spinning() -> None:
    a, b = pair()
    selector = SpinningSelector(selectors.DefaultSelector(), spin_s=5.0)
    selector.register(a, selectors.EVENT_READ)
    try:
        b.send(b"1")
        assert len(selector.select(1.0)) == 1  # work found: the next select may spin
        a.recv(1)
        assert selector.select(0) == []  # a check between callbacks changes nothing
        b.send(b"2")
        assert len(selector.select(1.0)) == 1
        assert selector.spins == 1  # found by polling, not by sleeping
    finally:
        selector.close()
        a.close()
        b.close()


class CountingSelector(selectors.DefaultSelector):
    """Counts the non-blocking polls (timeout 0) the spinning selector makes."""

    polls = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0:
            self.polls += 1
        return super().select(timeout)


def test_an_idle_selector_does_not_spin_and_a_busy_one_spins_once() -> None:
    a, b = pair()
    inner = CountingSelector()
    selector = SpinningSelector(inner, spin_s=0.02)
    selector.register(a, selectors.EVENT_READ)
    try:
        assert selector.select(0.01) == []  # idle from the start: one plain wait
        assert inner.polls == 0
        b.send(b"1")
        selector.select(1.0)
        a.recv(1)
        assert selector.select(0.05) == []  # after work: polls, then sleeps the rest
        assert inner.polls > 0
        polls = inner.polls
        assert selector.select(0.01) == []  # that turn found nothing: idle, no spin
        assert inner.polls == polls
        assert selector.spins == 0
    finally:
        selector.close()
        a.close()
        b.close()


def test_a_zero_spin_is_a_plain_selector_and_the_loop_runs_on_it() -> None:
    selector = SpinningSelector(selectors.DefaultSelector(), spin_s=0)
    loop = asyncio.SelectorEventLoop(selector)
    try:
        assert loop.run_until_complete(asyncio.sleep(0.01, result="done")) == "done"
        assert selector.spins == 0
    finally:
        loop.close()


SPIN_S = 300e-6


def spins_in(budget: SpinBudget, turns: int) -> int:
    return sum(budget.should_spin() for _ in range(turns))


def test_a_fresh_budget_spins() -> None:
    budget = SpinBudget(SPIN_S)
    assert budget.pays()
    assert spins_in(budget, 10) == 10


def test_spins_that_keep_running_out_stop_but_one_turn_in_probe_every_still_spins() -> None:
    budget = SpinBudget(SPIN_S)
    for _ in range(20):
        budget.record(SPIN_S, found=False)
    assert not budget.pays()
    assert spins_in(budget, 10 * PROBE_EVERY) == 10


def test_paced_links_a_quick_update_then_a_whole_spin_for_nothing_do_not_pay() -> None:
    """A fleet of paced bots: after a reply the bot's update is found quickly, the next
    order comes long after the spin ran out."""
    budget = SpinBudget(SPIN_S)
    for _ in range(20):
        budget.record(80e-6, found=True)
        budget.record(SPIN_S, found=False)
    assert not budget.pays()


def test_back_to_back_requests_with_a_pause_now_and_then_keep_it_spinning() -> None:
    budget = SpinBudget(SPIN_S)
    for _ in range(10):
        for _ in range(7):
            budget.record(10e-6, found=True)
        budget.record(SPIN_S, found=False)
        assert budget.pays()


def test_quick_finds_of_the_probes_bring_the_spin_back() -> None:
    budget = SpinBudget(SPIN_S)
    for _ in range(40):
        budget.record(SPIN_S, found=False)
    probes = 0
    while not budget.pays():
        budget.record(5e-6, found=True)
        probes += 1
    assert probes <= 12  # back to spinning after some 12 x PROBE_EVERY busy turns at most
    assert spins_in(budget, 5) == 5


class MissingSelector(CountingSelector):
    """Never ready while polled; a blocking wait reports one event, as after a sleep."""

    def __init__(self, ready: list[tuple[selectors.SelectorKey, int]]) -> None:
        super().__init__()
        self.ready = ready

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0:
            self.polls += 1
            return []
        return self.ready


def test_a_selector_whose_spins_find_nothing_mostly_sleeps_at_once() -> None:
    a, b = pair()
    inner = MissingSelector([])
    selector = SpinningSelector(inner, spin_s=0.0005)
    key = selector.register(a, selectors.EVENT_READ)
    inner.ready = [(key, selectors.EVENT_READ)]
    try:
        turns = 20 + 4 * PROBE_EVERY
        for _ in range(turns):
            assert selector.select(1.0) == inner.ready  # busy every turn; spins run out
        assert selector.spins == 0
        assert 4 <= selector.spun < 20 + 4  # a few while learning, then the probes only
    finally:
        selector.close()
        a.close()
        b.close()
