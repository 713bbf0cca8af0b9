"""The reference bot's market data for the planner: bars from its random walk, kept pure.

The bot's market runs faster than the clock: one bar is one simulated minute,
``ticks_per_bar`` ticks long (10 s of wall time at the defaults), stamped with the
wall-clock time it opened. So a plan shows up within seconds of ``python scripts/run.py``:
the bot first sends a history of bars (made by walking the same market
backwards in time from its starting prices) and then each bar as it closes.

The 30-day ATR the planner needs is the walk's own: the expected daily range of
a random walk with per-tick volatility σ over a simulated day of
``1440 × ticks_per_bar`` ticks is ``√(8/π) · σ · √ticks · price``.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from bus.protocol import OhlcvBar

MINUTES_PER_DAY = 1440
_RANGE_FACTOR = math.sqrt(8 / math.pi)
"""Expected high-minus-low of a unit Brownian path over unit time."""


def walk_atr(price: float, volatility: float, ticks_per_bar: int) -> float:
    """The walk's expected daily true range at ``price``: its "30-day ATR"."""
    return _RANGE_FACTOR * volatility * math.sqrt(MINUTES_PER_DAY * ticks_per_bar) * price


@dataclass
class _Forming:
    ts: float
    open: float
    high: float
    low: float
    close: float
    ticks: int = 1

    def add(self, price: float) -> None:
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.close = price
        self.ticks += 1

    def bar(self) -> OhlcvBar:
        return OhlcvBar(ts=self.ts, open=self.open, high=self.high, low=self.low,
                        close=self.close, volume=float(self.ticks))


class BarMaker:
    """Ticks in, closed bars out, with the recent bars of each symbol kept for resending."""

    def __init__(self, symbols: list[str], *, ticks_per_bar: int, keep: int = 1000) -> None:
        self.ticks_per_bar = ticks_per_bar
        self._forming: dict[str, _Forming] = {}
        self.recent: dict[str, deque[OhlcvBar]] = {s: deque(maxlen=keep) for s in symbols}

    def on_tick(self, marks: dict[str, float], now: float) -> list[tuple[str, OhlcvBar]]:
        """Add one tick of every symbol; return the bars that closed with it."""
        closed = []
        for symbol, price in marks.items():
            forming = self._forming.get(symbol)
            if forming is None:
                self._forming[symbol] = _Forming(ts=now, open=price, high=price, low=price,
                                                 close=price)
                continue
            forming.add(price)
            if forming.ticks >= self.ticks_per_bar:
                bar = forming.bar()
                self.recent[symbol].append(bar)
                closed.append((symbol, bar))
                del self._forming[symbol]
        return closed

    def backfill(self, prices: dict[str, float], *, bars: int, now: float, seed: int,
                 volatility: float) -> dict[str, float]:
        """History of ``bars`` one-minute bars ending at ``now`` and at ``prices``.

        The walk is run backwards from today's prices, so the history joins the live
        market without a jump. Returns the prices unchanged, for the caller's clarity.
        """
        rng = random.Random(seed)
        for symbol, last in prices.items():
            path = [last]
            for _ in range(bars * self.ticks_per_bar):
                path.append(path[-1] * math.exp(rng.gauss(0.0, volatility)))
            path.reverse()  # oldest first, ending at today's price
            start = now - 60.0 * bars
            for i in range(bars):
                ticks = path[i * self.ticks_per_bar:(i + 1) * self.ticks_per_bar + 1]
                self.recent[symbol].append(OhlcvBar(
                    ts=start + 60.0 * i, open=round(ticks[0], 8), high=round(max(ticks), 8),
                    low=round(min(ticks), 8), close=round(ticks[-1], 8),
                    volume=float(self.ticks_per_bar)))
        return prices
