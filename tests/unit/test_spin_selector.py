"""The spinning selector: it polls for a moment after work, never when idle."""

from __future__ import annotations

import asyncio
import selectors
import socket

from kernel.spin import SpinningSelector


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
