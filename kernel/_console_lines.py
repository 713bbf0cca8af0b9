"""How many console lines a kind of anomaly or warning may take: one a second.

A console line costs about 1.7 ms to render (rich), in one turn of the loop that
decides every bot's orders. A fuzzing link brought some 70 anomaly lines a second
(a bad frame, an identity refused, a link flooded, each within the journal's own
rate), 12 % of the loop's time, each a 1.7 ms wait for an order that came in just
then, and more lines than anyone watching can read. So each kind of anomaly (and of
risk warning) gets one line a second; the rest are counted, and said with the next
line of that kind, or on their own once the second has passed. Everything stays in
the journal and ``kernel tap``; halts, limits, the bot's life and operator actions
are always told at once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

COALESCED_TOPICS: Final = frozenset({"anomaly", "risk.warning"})
EVERY_S: Final = 1.0
KINDS_KEPT: Final = 256
"""Kinds whose last line's time is remembered (anomaly kinds are the kernel's own few;
a bound all the same, the least recently told forgotten first)."""


class LineBudget:
    """One console line per ``key`` per ``every_s``; the rest counted. Time passed in."""

    def __init__(self, every_s: float = EVERY_S, kinds_kept: int = KINDS_KEPT) -> None:
        self.every_s = every_s
        self._kinds_kept = kinds_kept
        self._told: OrderedDict[str, float] = OrderedDict()
        self.held: dict[str, int] = {}
        """Lines not told per key since its last told one (:meth:`overdue` takes them)."""

    def admit(self, key: str, now: float) -> tuple[bool, int]:
        """Whether to tell this line now, and how many of its kind were held back before it."""
        told = self._told.get(key)
        if told is not None and now - told < self.every_s:
            self.held[key] = self.held.get(key, 0) + 1
            return False, 0
        self._told[key] = now
        self._told.move_to_end(key)
        while len(self._told) > self._kinds_kept:
            forgotten, _ = self._told.popitem(last=False)
            self.held.pop(forgotten, None)
        return True, self.held.pop(key, 0)

    def overdue(self, now: float) -> list[tuple[str, int]]:
        """The kinds whose second has passed with lines held back: said on their own."""
        due = [(key, count) for key, count in self.held.items()
               if now - self._told.get(key, now - self.every_s) >= self.every_s]
        for key, _ in due:
            del self.held[key]
            self._told[key] = now
        return due


def held_words(count: int, every_s: float = EVERY_S) -> str:
    """``(and 57 more of this kind within 1 s: kernel tap or the journal has each)``."""
    return (f"(and {count} more of this kind within {every_s:g} s: kernel tap or the "
            "journal has each)")
