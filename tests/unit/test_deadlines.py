"""The async link's order timeouts: one timer per timeout value, each order on time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from bus._deadlines import Deadlines


class Timer:
    def __init__(self, when: float, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.when, self.callback, self.args, self.cancelled = when, callback, args, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """The two things Deadlines asks of a loop, with time moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> Timer:
        timer = Timer(when, callback, args)
        self.timers.append(timer)
        return timer

    def armed(self) -> list[Timer]:
        return [t for t in self.timers if not t.cancelled]

    def advance(self, seconds: float) -> None:
        """Run every timer due by then, earliest first, as the loop would."""
        self.now += seconds
        while due := sorted((t for t in self.armed() if t.when <= self.now),
                            key=lambda t: t.when):
            due[0].cancelled = True  # ran: a handle runs once
            due[0].callback(*due[0].args)


class Link:
    """What the link keeps: request id -> the waiting call's resolver."""

    def __init__(self) -> None:
        self.loop = FakeLoop()
        self.pending: dict[str, Callable[..., None]] = {}
        self.expired: list[tuple[str, float]] = []
        self.deadlines = Deadlines(cast(asyncio.AbstractEventLoop, self.loop),
                                   lambda rid, waiter: self.pending.get(rid) is waiter,
                                   self.expire)

    def send(self, request_id: str, timeout_s: float) -> Callable[..., None]:
        def waiter(*_: object) -> None:
            return None

        self.pending[request_id] = waiter
        self.deadlines.add(request_id, waiter, timeout_s)
        return waiter

    def answer(self, request_id: str) -> None:
        del self.pending[request_id]

    def expire(self, request_id: str, timeout_s: float) -> None:
        del self.pending[request_id]
        self.expired.append((request_id, timeout_s))


def test_an_unanswered_order_expires_at_its_deadline_and_not_before() -> None:
    link = Link()
    link.send("a", 0.5)
    link.loop.advance(0.499)
    assert link.expired == []
    link.loop.advance(0.001)
    assert link.expired == [("a", 0.5)] and link.loop.armed() == []


def test_answered_orders_never_expire_and_share_one_timer() -> None:
    link = Link()
    for i in range(100):
        link.send(f"o{i}", 1.0)
        link.loop.advance(0.001)
    assert len(link.loop.armed()) == 1
    for i in range(99):
        link.answer(f"o{i}")
    link.loop.advance(2.0)
    assert link.expired == [("o99", 1.0)]


def test_the_timer_moves_to_the_oldest_order_still_waiting() -> None:
    link = Link()
    link.send("first", 1.0)
    link.loop.advance(0.3)
    link.send("second", 1.0)
    link.answer("first")
    link.loop.advance(0.7)  # the first one's deadline: nothing is due
    assert link.expired == []
    assert [t.when for t in link.loop.armed()] == [link.loop.now + 0.3]
    link.loop.advance(0.3)
    assert link.expired == [("second", 1.0)]


def test_each_timeout_value_keeps_its_own_clock() -> None:
    link = Link()
    link.send("slow", 5.0)
    link.send("fast", 0.1)
    link.loop.advance(0.1)
    assert link.expired == [("fast", 0.1)]
    link.loop.advance(4.9)
    assert link.expired == [("fast", 0.1), ("slow", 5.0)]


def test_a_reused_request_id_is_not_expired_by_the_earlier_calls_deadline() -> None:
    link = Link()
    link.send("same", 1.0)
    link.loop.advance(0.5)
    link.answer("same")
    link.send("same", 1.0)  # a fresh call with the id of an answered one
    link.loop.advance(0.5)  # the earlier call's deadline
    assert link.expired == []
    link.loop.advance(0.5)
    assert link.expired == [("same", 1.0)]


def test_one_stuck_order_does_not_keep_every_answered_one_behind_it() -> None:
    link = Link()
    link.send("stuck", 60.0)
    for i in range(10_000):
        link.send(f"o{i}", 60.0)
        link.answer(f"o{i}")
    queued = sum(len(q) for q in link.deadlines._queues.values())
    assert queued <= 2 * len(link.pending) + 64 + 1
    link.loop.advance(60.0)
    assert link.expired == [("stuck", 60.0)] and link.loop.armed() == []


def test_a_timeout_not_above_zero_is_due_at_once() -> None:
    link = Link()
    link.send("zero", 0.0)
    link.send("negative", -1.0)
    link.send("nan", float("nan"))
    link.loop.advance(0.0)
    assert sorted(link.expired) == [("nan", 0.0), ("negative", 0.0), ("zero", 0.0)]


def test_cancel_all_stops_every_timer() -> None:
    link = Link()
    link.send("a", 1.0)
    link.send("b", 2.0)
    link.deadlines.cancel_all()
    assert link.loop.armed() == []
    link.loop.advance(5.0)
    assert link.expired == []
