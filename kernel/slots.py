"""Periodic work in its own slot of the period, so that many actors' timers of one
period do not fire at the same instant of the one loop."""

from __future__ import annotations


def until_slot(now: float, every_s: float, phase: float) -> float:
    """Seconds from ``now`` to the next instant at ``phase`` (0 to 1) of a period of
    ``every_s``. Twenty engines of a fleet, started a few at a time, drifted into two
    or three instants of each second: 5-9 ms of the loop at once, every order that
    arrived then waiting behind them. Each in its own slot of the loop's clock, they
    stay apart however they started."""
    return every_s - (now - phase * every_s) % every_s
