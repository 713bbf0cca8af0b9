"""When each order in flight stops waiting: one timer per timeout value, not per order.

A ``loop.call_later`` per ``can_execute`` builds a timer handle, pushes it on the
loop's heap and cancels it again when the decision comes, which at 64 orders in
flight was a tenth of the library's own time an order. Orders sent with the same
``timeout_s`` reach their deadlines in the order they were sent, so one queue per
timeout value holds them, oldest first, and one timer armed for the oldest order
still waiting serves them all. An answered order is only skipped when it reaches
the head; a queue that grows to twice what still waits (one order never answered,
the rest answered behind it) is compacted, so memory follows the orders in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TypeAlias

Waiter: TypeAlias = Callable[..., None]
"""Whatever identifies one call's wait (its resolver): a request id can be reused."""
Entry: TypeAlias = tuple[float, str, Waiter]
IsWaiting: TypeAlias = Callable[[str, Waiter], bool]
OnDue: TypeAlias = Callable[[str, float], None]

_COMPACT_SLACK = 64


class Deadlines:
    """Calls ``on_due(request_id, timeout_s)`` for each order still waiting at its deadline.

    ``is_waiting(request_id, waiter)``: whether that call still waits for its
    decision; answered, cancelled and already expired calls are dropped unseen.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, is_waiting: IsWaiting,
                 on_due: OnDue) -> None:
        self._loop = loop
        self._is_waiting = is_waiting
        self._on_due = on_due
        self._queues: dict[float, deque[Entry]] = {}
        self._limits: dict[float, int] = {}
        self._timers: dict[float, asyncio.TimerHandle] = {}
        self._early = time.get_clock_info("monotonic").resolution
        """asyncio runs a timer up to one clock tick before its time; so does this."""

    def add(self, request_id: str, waiter: Waiter, timeout_s: float) -> None:
        """Start the clock of one call; a timeout that is not above 0 is due at once."""
        if not timeout_s > 0:  # NaN included
            timeout_s = 0.0
        queue = self._queues.get(timeout_s)
        if queue is None:
            queue = self._queues[timeout_s] = deque()
            self._limits[timeout_s] = _COMPACT_SLACK
        elif len(queue) > self._limits[timeout_s]:
            queue = self._compact(timeout_s, queue)
        queue.append((self._loop.time() + timeout_s, request_id, waiter))
        if timeout_s not in self._timers:
            self._arm(timeout_s, queue)

    def cancel_all(self) -> None:
        """Stop every timer (the link is closed: nothing waits any more)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._queues.clear()
        self._limits.clear()

    def _compact(self, timeout_s: float, queue: deque[Entry]) -> deque[Entry]:
        waiting = deque(entry for entry in queue if self._is_waiting(entry[1], entry[2]))
        self._queues[timeout_s] = waiting
        self._limits[timeout_s] = 2 * len(waiting) + _COMPACT_SLACK
        return waiting

    def _arm(self, timeout_s: float, queue: deque[Entry]) -> None:
        self._timers[timeout_s] = self._loop.call_at(queue[0][0], self._due, timeout_s)

    def _due(self, timeout_s: float) -> None:
        del self._timers[timeout_s]
        queue = self._queues[timeout_s]
        now = self._loop.time() + self._early
        while queue:
            deadline, request_id, waiter = queue[0]
            if self._is_waiting(request_id, waiter):
                if deadline > now:
                    break
                self._on_due(request_id, timeout_s)
            queue.popleft()
        if queue:
            self._arm(timeout_s, queue)
        else:
            del self._queues[timeout_s], self._limits[timeout_s]
