"""Deterministic markets for the planner's actor and CLI tests: a wavy trend, no randomness.

A sine wave on a straight drift gives swing highs and lows (so the Technical
analysis finds levels) and a steady direction (so it takes a side).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bus.protocol import AssetKind, Bars, OhlcvBar
from planner.parts import Bar

T0 = datetime(2026, 2, 4, 15, 0, tzinfo=UTC).timestamp()
"""Wednesday 2026-02-04 10:00 in New York: a weekday session for stocks, too."""


def trend_bars(n: int, *, start: float = 60_000.0, drift: float = 0.0004,
               amp: float = 0.002, t0: float = T0, interval: float = 60.0) -> list[Bar]:
    """``n`` bars whose closes follow ``start × (1 + drift·i + amp·sin(i/4))``."""
    out: list[Bar] = []
    previous = start
    for i in range(n):
        close = start * (1 + drift * i + amp * math.sin(i / 4.0))
        high = max(previous, close) * (1 + amp / 8)
        low = min(previous, close) * (1 - amp / 8)
        out.append(Bar(ts=t0 + interval * i, open=previous, high=high, low=low, close=close,
                       volume=1_000.0))
        previous = close
    return out


def as_link_bars(bars: list[Bar]) -> list[OhlcvBar]:
    return [OhlcvBar(ts=b.ts, open=b.open, high=b.high, low=b.low, close=b.close,
                     volume=b.volume) for b in bars]


def bars_message(symbol: str, bars: list[Bar], *, atr_30d: float | None = 1_800.0,
                 asset_class: AssetKind = "crypto", bot_id: str = "qe-1") -> Bars:
    return Bars(symbol=symbol, bars=as_link_bars(bars), atr_30d=atr_30d,
                asset_class=asset_class, bot_id=bot_id)
