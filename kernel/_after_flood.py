"""Giving memory back to the system once a flood is over, while the kernel is quiet.

What a flood leaves behind is mostly free memory the process keeps: Python's and
the C library's allocators hold on to pages their objects were freed from, so the
RSS stays near its peak for minutes. The kernel cannot tell a flood from the link
alone (a flood of refused frames leaves no journal rows), but its own CPU time
tells: seconds spent mostly busy, then a second spent mostly idle. At that moment a
full collection and ``malloc_trim`` (:func:`kernel._memory.give_back`, some tens of
milliseconds) cost nobody a decision worth speaking of, and hand the pages back.
``time.process_time`` works the same on Windows, where giving back is a collection
only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

from kernel._memory import give_back

log = logging.getLogger("kernel.memory")

CHECK_S: Final = 1.0
BUSY_SHARE: Final = 0.5
"""A second in which the kernel used at least this share of a core counts as busy."""
QUIET_SHARE: Final = 0.2
"""A second below this share of a core is quiet (a bot ordering every 10 ms is ~5 %)."""
FLOOD_CPU_S: Final = 2.0
"""CPU seconds spent in busy seconds since the last give-back that make a flood."""
AGAIN_AFTER_CHECKS: Final = 10
"""Checks after a give-back when it is done once more, at the first quiet one from
then on: what a flood leaves is freed over the seconds after it too (the actors
catching up on their inboxes, the risk engine's reservations reported late), and
the first give-back returned only what was free at the first quiet second. After
a 60-s flood of orders the second gave back 2 MB more (docs/architecture.md)."""


def flood_over(busy_cpu_s: float, last_cpu_s: float, interval_s: float) -> bool:
    """Whether to give memory back now: a flood's worth of busy CPU, then a quiet interval."""
    return busy_cpu_s >= FLOOD_CPU_S and last_cpu_s < QUIET_SHARE * interval_s


class AfterFlood:
    """Checks the process's CPU time once a second; gives memory back after each flood."""

    def __init__(self, *, cpu: Callable[[], float] = time.process_time,
                 give: Callable[[], bool] = give_back) -> None:
        self._cpu = cpu
        self._give = give
        self._last = cpu()
        self._busy = 0.0
        self._again: int | None = None
        """Checks left before the give-back after the last (None: none due)."""
        self.given_back = 0
        """Floods after which memory was given back."""
        self.given_again = 0
        """Give-backs done once more, :data:`AGAIN_AFTER_CHECKS` after one."""

    def check(self, interval_s: float = CHECK_S) -> bool:
        """One look at the CPU used since the last; True if memory was given back now."""
        now = self._cpu()
        used, self._last = now - self._last, now
        if used >= BUSY_SHARE * interval_s:
            self._busy += used
        if self._again is not None:
            self._again -= 1
            if self._again <= 0 and used < QUIET_SHARE * interval_s:
                self._again = None
                self.given_again += 1
                self._give_back("once more, after the flood")
                return True
        if not flood_over(self._busy, used, interval_s):
            return False
        self._busy = 0.0
        self._again = AGAIN_AFTER_CHECKS
        self.given_back += 1
        self._give_back("a flood is over")
        return True

    def _give_back(self, why: str) -> None:
        started = time.perf_counter()
        trimmed = self._give()
        log.info("%s: memory given back in %.0f ms (heap pages returned: %s)", why,
                 (time.perf_counter() - started) * 1000, "yes" if trimmed else "no")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_S)
            self.check()
