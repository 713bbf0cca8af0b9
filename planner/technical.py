"""The built-in Technical analysis: a verdict from bars alone.

It exists so the system plans with no external agent. Each input is one
documented indicator (docs/planner.md, "Technical analyzer"): a trend score
from moving averages, momentum as the rate of change in ATR units, swing-point
support and resistance, a breakout check for the pattern state, and the
volatility regime from recent against average true range.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from planner.config import TechnicalConfig
from planner.indicators import (
    atr,
    clamp,
    cluster_levels,
    rate_of_change,
    sma,
    swing_highs,
    swing_lows,
    true_ranges,
)
from planner.messages import TechnicalVerdict
from planner.parts import Bar, Direction, Level, PatternState, VolatilityRegime
from planner.snapshot import AnalysisError


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """The raw numbers behind a verdict, kept for the notes and for tests."""

    trend: int
    momentum_atr: float
    atr: float


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def min_bars(cfg: TechnicalConfig) -> int:
    return max(cfg.slow_ma, cfg.fast_ma + cfg.slope_lookback, cfg.atr_period + 1,
               cfg.momentum_lookback + 1, 2 * cfg.swing_window + 1)


def reading(bars: Sequence[Bar], cfg: TechnicalConfig) -> Reading:
    """Trend score −3..3 (price vs fast MA, fast vs slow MA, fast MA slope) and momentum."""
    closes = [bar.close for bar in bars]
    fast, slow = sma(closes, cfg.fast_ma), sma(closes, cfg.slow_ma)
    fast_before = sma(closes, cfg.fast_ma, end=len(closes) - cfg.slope_lookback)
    trend = _sign(closes[-1] - fast) + _sign(fast - slow) + _sign(fast - fast_before)
    bar_atr = atr(bars, cfg.atr_period)
    momentum = rate_of_change(closes, cfg.momentum_lookback) / bar_atr if bar_atr > 0 else 0.0
    return Reading(trend=trend, momentum_atr=momentum, atr=bar_atr)


def direction_of(r: Reading) -> Direction:
    """LONG needs trend ≥ 2 with rising momentum; SHORT the mirror; else NEUTRAL."""
    if r.trend >= 2 and r.momentum_atr > 0:
        return "LONG"
    if r.trend <= -2 and r.momentum_atr < 0:
        return "SHORT"
    return "NEUTRAL"


def confidence_of(r: Reading, direction: Direction, cfg: TechnicalConfig) -> float:
    """35 + 35·|trend|/3 + 20·m when directional; 60 − 15·|trend|/3 − 15·m when neutral."""
    m = min(1.0, abs(r.momentum_atr) / cfg.momentum_full_atr)
    a = abs(r.trend) / 3
    value = 35 + 35 * a + 20 * m if direction != "NEUTRAL" else 60 - 15 * a - 15 * m
    return float(round(clamp(value, 0.0, cfg.max_confidence)))


def levels(
    bars: Sequence[Bar], bar_atr: float, cfg: TechnicalConfig
) -> tuple[list[Level], list[Level]]:
    """Swing points below the last close are supports, above it resistances, nearest first."""
    last = bars[-1].close
    points = [p for _, p in swing_lows(bars, cfg.swing_window)]
    points += [p for _, p in swing_highs(bars, cfg.swing_window)]
    merged = cluster_levels(points, cfg.level_merge_atr * bar_atr, "swing")
    supports = sorted((lv for lv in merged if lv.price < last), key=lambda lv: -lv.price)
    resistances = sorted((lv for lv in merged if lv.price > last), key=lambda lv: lv.price)
    return supports[:cfg.max_levels], resistances[:cfg.max_levels]


def pattern_state(bars: Sequence[Bar], direction: Direction, cfg: TechnicalConfig) -> PatternState:
    """Broken when the last close is beyond the latest swing high (LONG) / swing low (SHORT)."""
    if direction == "NEUTRAL":
        return "none"
    points = swing_highs(bars, cfg.swing_window) if direction == "LONG" else \
        swing_lows(bars, cfg.swing_window)
    if not points:
        return "none"
    _, level = points[-1]
    close = bars[-1].close
    broken = close > level if direction == "LONG" else close < level
    return "broken" if broken else "not_yet_broken"


def entry_type_of(
    direction: Direction, state: PatternState, near: Level | None, close: float, bar_atr: float,
    cfg: TechnicalConfig,
) -> str:
    """Retest after a break; at the level when close to it; else wait for the move to it."""
    if direction == "NEUTRAL":
        return "none"
    is_long = direction == "LONG"
    if state == "broken":
        return "breakout_retest" if is_long else "breakdown_retest"
    if near is not None and abs(close - near.price) <= cfg.near_level_atr * bar_atr:
        return "buy_support" if is_long else "short_resistance"
    return "pullback_buy" if is_long else "rally_short"


def volatility_regime(
    bars: Sequence[Bar], bar_atr: float, cfg: TechnicalConfig
) -> VolatilityRegime:
    """Recent ATR against the mean true range of all the bars."""
    ranges = true_ranges(bars)
    mean = sum(ranges) / len(ranges) if ranges else 0.0
    ratio = bar_atr / mean if mean > 0 else 1.0
    if ratio >= cfg.vol_extreme:
        return "extreme"
    if ratio >= cfg.vol_high:
        return "high"
    if ratio <= cfg.vol_low:
        return "low"
    return "normal"


def analyze_technical(
    symbol: str, bars: Sequence[Bar], now: float, cfg: TechnicalConfig
) -> TechnicalVerdict:
    """A Technical verdict from bars (oldest first); too few bars is an :class:`AnalysisError`."""
    needed = min_bars(cfg)
    if len(bars) < needed:
        raise AnalysisError(f"bars: the technical analysis needs at least {needed} bars, "
                            f"got {len(bars)}")
    r = reading(bars, cfg)
    direction = direction_of(r)
    supports, resistances = levels(bars, r.atr, cfg)
    state = pattern_state(bars, direction, cfg)
    nearest = supports[:1] if direction == "LONG" else resistances[:1]
    near = nearest[0] if nearest else None
    return TechnicalVerdict(
        symbol=symbol, ts=now, direction=direction,
        confidence=confidence_of(r, direction, cfg),
        entry_type=entry_type_of(direction, state, near, bars[-1].close, r.atr, cfg),
        supports=supports, resistances=resistances, pattern_state=state,
        volatility_regime=volatility_regime(bars, r.atr, cfg),
        notes=[f"trend score {r.trend:+d} of ±3", f"momentum {r.momentum_atr:+.2f} ATR over "
               f"{cfg.momentum_lookback} bars", f"bar ATR {r.atr:.6g}"],
    )
