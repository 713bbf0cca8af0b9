"""Building a market snapshot from bars, so an adapter needs nothing but the bot's bars.

The session's HOD, LOD and VWAP come from the bars of the session that the last
bar belongs to (New York session for stocks, UTC day for crypto); the 30-day
ATR must come from daily bars, because the planner's distances are multiples of
a day's range, never of a one-minute bar's.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.indicators import atr, vwap
from planner.messages import MarketSnapshot
from planner.parts import AssetClass, Bar, MarketStatus
from planner.sessions import session_start

DAILY_ATR_PERIOD = 30


class AnalysisError(ValueError):
    """The data given cannot support the analysis; the message names the field."""


def session_bars(bars: Sequence[Bar], asset_class: AssetClass) -> list[Bar]:
    """The bars of the session the last bar belongs to."""
    if not bars:
        return []
    start = session_start(bars[-1].ts, asset_class)
    return [bar for bar in bars if bar.ts >= start]


def session_vwap(bars: Sequence[Bar], asset_class: AssetClass) -> float | None:
    return vwap(session_bars(bars, asset_class))


def daily_atr(daily_bars: Sequence[Bar], period: int = DAILY_ATR_PERIOD) -> float:
    """Wilder ATR of daily bars: the "30-day ATR" of the seed with the default period."""
    if len(daily_bars) < period + 1:
        raise AnalysisError(f"daily_bars: need {period + 1} daily bars for a {period}-day ATR, "
                            f"got {len(daily_bars)}")
    return atr(daily_bars, period)


def make_snapshot(
    symbol: str,
    bars: Sequence[Bar],
    *,
    asset_class: AssetClass,
    atr_30d: float,
    market_status: MarketStatus = "open",
    prev_close: float | None = None,
    keep_bars: int = 500,
) -> MarketSnapshot:
    """A snapshot at the last bar: its close is the price; HOD/LOD/VWAP of its session."""
    if not bars:
        raise AnalysisError("bars: need at least one bar to build a snapshot, got 0")
    if atr_30d <= 0:
        raise AnalysisError(f"atr_30d: expected a positive 30-day ATR, got {atr_30d!r}")
    session = session_bars(bars, asset_class)
    last = bars[-1]
    return MarketSnapshot(
        symbol=symbol, ts=last.ts, asset_class=asset_class, price=last.close,
        hod=max(bar.high for bar in session), lod=min(bar.low for bar in session),
        atr_30d=atr_30d, vwap=vwap(session), bars=list(bars[-keep_bars:]),
        market_status=market_status, prev_close=prev_close,
    )
