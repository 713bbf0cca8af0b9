"""A selector that keeps polling for a moment after work, before it sleeps, while that pays.

A bot at one order in flight sends its next request some tens of microseconds
after its reply. If the kernel's loop has gone to sleep meanwhile, the request
waits for the CPU to wake from idle first, and in a virtual machine that wake
costs more than the whole decision: measured here, the gate's round trip drops
from about 270 to 150 µs when the CPU is kept busy. So after a turn of the loop
that found work, :class:`SpinningSelector` polls without sleeping for up to
``spin_s`` before it blocks. An idle kernel never spins (the turn before found
nothing), and a busy one has work at once. ``gateway.spin_us: 0`` in kernel.yaml
turns it off. The selector of any platform can be wrapped (Windows uses select()).

The spin is adaptive (:class:`SpinBudget`). Many paced links (a fleet of bots, each
at 50 orders/s) rarely send back to back: after a reply the bot's order update comes
quickly, but the next order, from whichever bot, comes at a random moment, most
often after the spin has run out. There every decision paid a whole ``spin_s`` of
CPU for nothing, a quarter of the kernel's CPU, taken from the bots on the same
cores. So the selector keeps a running account of what its recent spins cost and
found, and spins only while they found work at least once per ``spin_s`` of
polling; otherwise it sleeps at once, and spins one turn in :data:`PROBE_EVERY`
anyway to notice when the traffic turns back to back. A bot at one order in
flight keeps it spinning: its next request is found within tens of microseconds.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Mapping
from typing import Any

_Event = tuple[selectors.SelectorKey, int]

DECAY = 1 / 8
"""Weight of the newest spin in the running account (about the last 8 spins count)."""
PROBE_EVERY = 16
"""While spinning does not pay, one busy turn in this many spins anyway."""
WORTH = 1.0
"""Spinning pays while the recent spins found work for at most this share of ``spin_s``
of polling each (a spin that runs out costs all of ``spin_s`` and finds nothing). Paced
bots came to some 500 µs of polling per find at ``spin_s`` 300 µs; a bot at one order in
flight to about 110, its misses included."""


class SpinBudget:
    """Whether the next busy turn should spin: the running account of the recent spins.

    Pure bookkeeping (times are passed in), so the rule is tested without sockets."""

    def __init__(self, spin_s: float) -> None:
        self.spin_s = spin_s
        self._spent = 0.0
        """Seconds spun, recent spins weighted most (decays by :data:`DECAY` per spin)."""
        self._found = 1.0
        """Spins that found work, weighted alike; starts as one quick find, so a fresh
        kernel spins and learns."""
        self._skipped = 0

    def should_spin(self) -> bool:
        if self.pays():
            return True
        self._skipped += 1
        if self._skipped >= PROBE_EVERY:
            self._skipped = 0
            return True
        return False

    def pays(self) -> bool:
        return self._spent <= self._found * WORTH * self.spin_s

    def record(self, spent_s: float, found: bool) -> None:
        """One spin: how long it polled and whether it found work."""
        self._spent += DECAY * (spent_s - self._spent)
        self._found += DECAY * ((1.0 if found else 0.0) - self._found)
        if found and self.pays():
            self._skipped = 0


class SpinningSelector(selectors.BaseSelector):
    """Delegates to ``inner``; see the module docstring for the spin."""

    def __init__(self, inner: selectors.BaseSelector, spin_s: float) -> None:
        self._inner = inner
        self._spin_s = max(0.0, spin_s)
        self._busy = False
        self.budget = SpinBudget(self._spin_s)
        self.spins = 0
        """Turns that found their work while spinning (for tests and curiosity)."""
        self.spun = 0
        """Turns that spun, whether they found work or not."""

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
        if self._busy and self._spin_s > 0 and (timeout is None or timeout > 0) \
                and self.budget.should_spin():
            spin = self._spin_s if timeout is None else min(self._spin_s, timeout)
            events, spent = self._spin(spin)
            if events:
                return events
            if timeout is not None:
                timeout = max(0.0, timeout - spent)
        events = self._inner.select(timeout)
        if events or timeout != 0:  # a mere check (timeout 0) says nothing about idleness
            self._busy = bool(events)
        return events

    def _spin(self, spin: float) -> tuple[list[_Event], float]:
        """Poll for up to ``spin`` seconds: what was found, and how long it took."""
        self.spun += 1
        started = time.perf_counter()
        while True:
            events = self._inner.select(0)
            spent = time.perf_counter() - started
            if events:
                self.spins += 1
                self.budget.record(spent, found=True)
                return events, spent
            if spent >= spin:
                self.budget.record(spent, found=False)
                return [], spent
