"""The bar history of one symbol, as the bot sent it: pure, so it is tested without a bus.

A bot sends its recent history after each ``welcome`` and then one bar at a time,
and may send the still-forming bar again as it changes. So bars are merged by
time: a bar with the time of the last one replaces it, a newer one is appended,
an older one (history sent again) is skipped. Bars that contradict themselves
(a high below the close) are refused whole, naming the first bad one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from bus.protocol import Bars, OhlcvBar
from planner.messages import MarketSnapshot
from planner.parts import Bar
from planner.snapshot import make_snapshot, session_bars

SNAPSHOT_BARS = 60
"""Bars carried in each published snapshot: enough for the chase guard (5) and the
Wild Card spike check (11), small enough to journal one per bar. HOD, LOD and VWAP
are computed from the whole session before trimming. With a ``prev_close`` the
whole session is kept instead, since the gap check compares it with the session's
first open."""


def bar_problem(bars: Sequence[OhlcvBar]) -> str | None:
    """The first bar that cannot be real, or bars out of order; None when all are sound."""
    previous = None
    for i, bar in enumerate(bars):
        if bar.high < max(bar.open, bar.close, bar.low) or bar.low > min(bar.open, bar.close):
            return (f"bars[{i}]: high {bar.high:g} / low {bar.low:g} do not contain open "
                    f"{bar.open:g} and close {bar.close:g}")
        if previous is not None and bar.ts <= previous:
            return f"bars[{i}].ts: {bar.ts:.3f} is not after the previous bar's {previous:.3f}"
        previous = bar.ts
    return None


def to_bar(bar: OhlcvBar) -> Bar:
    return Bar(ts=bar.ts, open=bar.open, high=bar.high, low=bar.low, close=bar.close,
               volume=bar.volume)


class BarHistory:
    """Bars of one symbol, oldest first, with the facts about it the bot last sent."""

    def __init__(self, symbol: str, maxlen: int) -> None:
        self.symbol = symbol
        self.bars: deque[Bar] = deque(maxlen=maxlen)
        self.last: Bars | None = None
        self.atr_30d: float | None = None
        """The latest 30-day ATR the bot gave; kept when a later message leaves it out."""

    def merge(self, message: Bars) -> int:
        """Add the message's bars; return how many were new or replaced a forming bar."""
        changed = 0
        for raw in message.bars:
            bar = to_bar(raw)
            if self.bars and bar.ts == self.bars[-1].ts:
                self.bars[-1] = bar
            elif not self.bars or bar.ts > self.bars[-1].ts:
                self.bars.append(bar)
            else:
                continue
            changed += 1
        self.last = message
        if message.atr_30d is not None:
            self.atr_30d = message.atr_30d
        return changed

    def snapshot(self) -> MarketSnapshot | None:
        """The market at the last bar; None without bars or without a 30-day ATR."""
        message = self.last
        if message is None or self.atr_30d is None or not self.bars:
            return None
        bars = list(self.bars)
        keep = SNAPSHOT_BARS
        if message.prev_close is not None:
            keep = max(keep, len(session_bars(bars, message.asset_class)))
        return make_snapshot(self.symbol, bars, asset_class=message.asset_class,
                             atr_30d=self.atr_30d, market_status=message.market_status,
                             prev_close=message.prev_close, keep_bars=keep)
