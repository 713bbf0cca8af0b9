"""The auditor's burst windows: "N events within W seconds" per subject, in bounded
memory whatever the rate (docs/architecture.md, "Bounded state")."""

from __future__ import annotations

from collections import Counter, deque

from agents.audit.config import Burst
from kernel.bounded import BoundedDict

STEPS = 64
"""Steps a burst window is counted in: each key keeps at most this many (plus two) runs
of events, whatever the rate."""


class _Window:
    """One key's events within the window, counted per label in steps."""

    __slots__ = ("steps", "tally", "total")

    def __init__(self) -> None:
        self.steps: deque[tuple[float, list[float], Counter[str]]] = deque()
        """(first event's time, [last event's time], labels counted) per step."""
        self.tally: Counter[str] = Counter()
        self.total = 0


class Windows:
    """Recent events (and a label) per key, for "N within W seconds" rules.

    Events are counted in steps of ``window_s / STEPS``, not kept one by one: a bot
    denied 10,000 times a second for a minute held 600,000 entries (some 60 MB that
    the allocator kept after the flood). A step leaves the window when its last event
    does, so a count may include events up to one step (a 64th of the window) older
    than the window: a storm is reported rather than missed. Events further apart than
    a step, as in every slow case, are counted exactly."""

    def __init__(self, burst: Burst, *, keys: int) -> None:
        self.burst = burst
        self._step_s = burst.window_s / STEPS
        self._keys: BoundedDict[str, _Window] = BoundedDict(keys)
        """Per key its steps and the labels in them, kept in step: a burst of thousands
        of denials must cost O(1) per message, not a recount of the window."""

    def __len__(self) -> int:
        return len(self._keys)

    def most_steps(self) -> int:
        """The most steps any key keeps (its bound: ``STEPS`` + 2)."""
        return max((len(kept.steps) for kept in self._keys.values()), default=0)

    def add(self, key: str, now: float, label: str = "") -> Counter[str] | None:
        """Record one; return the labels in the window once it holds ``count`` of them
        (a live view: read it at once, do not keep it)."""
        kept = self._keys.get(key)
        if kept is None:
            kept = self._keys[key] = _Window()
        steps = kept.steps
        if steps and 0 <= now - steps[-1][0] < self._step_s:
            _, last, labels = steps[-1]
            last[0] = max(last[0], now)
            labels[label] += 1
        else:
            steps.append((now, [now], Counter({label: 1})))
        kept.tally[label] += 1
        kept.total += 1
        # A clock stepping back opens a step each time: the bound holds regardless.
        while steps and (now - steps[0][1][0] > self.burst.window_s
                         or len(steps) > STEPS + 2):
            self._drop(kept, steps.popleft()[2])
        return kept.tally if kept.total >= self.burst.count else None

    @staticmethod
    def _drop(kept: _Window, labels: Counter[str]) -> None:
        tally = kept.tally
        for old, n in labels.items():
            kept.total -= n
            tally[old] -= n
            if tally[old] <= 0:
                del tally[old]
