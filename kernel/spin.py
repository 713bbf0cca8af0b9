"""A selector that keeps polling for a moment after work, before it sleeps.

A bot at one order in flight sends its next request some tens of microseconds
after its reply. If the kernel's loop has gone to sleep meanwhile, the request
waits for the CPU to wake from idle first, and in a virtual machine that wake
costs more than the whole decision: measured here, the gate's round trip drops
from about 270 to 150 µs when the CPU is kept busy. So after a turn of the loop
that found work, :class:`SpinningSelector` polls without sleeping for up to
``spin_s`` before it blocks. An idle kernel never spins (the turn before found
nothing), and a busy one has work at once; the cost is at most ``spin_s`` of one
core per request at moderate rates. ``gateway.spin_us: 0`` in kernel.yaml turns
it off. The selector of any platform can be wrapped (Windows uses select()).
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Mapping
from typing import Any

_Event = tuple[selectors.SelectorKey, int]


class SpinningSelector(selectors.BaseSelector):
    """Delegates to ``inner``; see the module docstring for the spin."""

    def __init__(self, inner: selectors.BaseSelector, spin_s: float) -> None:
        self._inner = inner
        self._spin_s = max(0.0, spin_s)
        self._busy = False
        self.spins = 0
        """Turns that found their work while spinning (for tests and curiosity)."""

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None) -> list[_Event]:
        if self._busy and self._spin_s > 0 and (timeout is None or timeout > 0):
            started = time.perf_counter()
            spin = self._spin_s if timeout is None else min(self._spin_s, timeout)
            while True:
                events = self._inner.select(0)
                if events:
                    self.spins += 1
                    return events
                spent = time.perf_counter() - started
                if spent >= spin:
                    break
            if timeout is not None:
                timeout = max(0.0, timeout - spent)
        events = self._inner.select(timeout)
        if events or timeout != 0:  # a mere check (timeout 0) says nothing about idleness
            self._busy = bool(events)
        return events
