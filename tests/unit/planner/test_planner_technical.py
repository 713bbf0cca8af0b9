"""The built-in Technical analyzer and its indicators, on hand-built bar series."""

from __future__ import annotations

import pytest

from planner.config import TechnicalConfig
from planner.indicators import atr, cluster_levels, sma, swing_highs, swing_lows, vwap
from planner.parts import Bar
from planner.snapshot import AnalysisError, daily_atr, make_snapshot, session_vwap
from planner.technical import analyze_technical, levels, pattern_state, volatility_regime
from tests.unit.planner.planner_factories import NOW

CFG = TechnicalConfig()


def trend_bars(n: int = 60, step: float = 1.0, start: float = 100.0) -> list[Bar]:
    """Closes move by ``step`` each bar; open half a step back; wicks of 0.25."""
    bars = []
    for i in range(n):
        close = start + step * i
        open_ = close - step / 2
        bars.append(Bar(ts=NOW - 60 * (n - i), open=open_, close=close,
                        high=max(open_, close) + 0.25, low=min(open_, close) - 0.25, volume=100))
    return bars


def shaped(highs: list[float]) -> list[Bar]:
    """Bars with the given highs, lows one below, closing half-way."""
    return [Bar(ts=NOW + 60 * i, open=h - 0.5, high=h, low=h - 1, close=h - 0.5)
            for i, h in enumerate(highs)]


# --- indicators ---------------------------------------------------------------


def test_sma_of_the_values_before_end() -> None:
    assert sma([1, 2, 3, 4], 2) == 3.5
    assert sma([1, 2, 3, 4], 2, end=3) == 2.5
    with pytest.raises(ValueError, match="need 5 values"):
        sma([1, 2], 5)


def test_wilder_atr_hand_computed() -> None:
    # true ranges 2, 4, 6 after the first bar: seed (2 + 4) / 2 = 3; then 3 + (6 − 3) / 2 = 4.5
    bars = [Bar(ts=0, open=10, high=11, low=9, close=10),
            Bar(ts=60, open=10, high=11, low=9, close=10),
            Bar(ts=120, open=10, high=12, low=8, close=10),
            Bar(ts=180, open=10, high=13, low=7, close=10)]
    assert atr(bars, 2) == pytest.approx(4.5)


def test_vwap_weights_the_typical_price_by_volume() -> None:
    bars = [Bar(ts=0, open=10, high=10, low=10, close=10, volume=1),
            Bar(ts=60, open=20, high=20, low=20, close=20, volume=3)]
    assert vwap(bars) == pytest.approx(17.5)
    assert vwap([Bar(ts=0, open=1, high=1, low=1, close=1)]) is None


def test_cluster_merges_near_levels_and_counts_touches() -> None:
    merged = cluster_levels([12.0, 10.0, 10.1], 0.2, "swing")
    assert [round(lv.price, 2) for lv in merged] == [10.05, 12.0]
    assert [lv.strength for lv in merged] == [60, 40]
    assert merged[0].label == "swing ×2"


def test_swing_points_are_strict_extremes_of_the_window() -> None:
    bars = shaped([10, 11, 12, 15, 12, 11, 10, 11, 12, 13, 14, 16])
    assert swing_highs(bars, 3) == [(3, 15)]
    assert swing_lows(bars, 3) == [(6, 9)]


# --- analyzer -----------------------------------------------------------------


def test_steady_uptrend_is_long_at_full_confidence() -> None:
    # trend +3; ATR = true range 1.25; momentum 10 / 1.25 = 8 ATR ≥ 1.5 → m = 1
    # confidence 35 + 35 + 20 = 90
    verdict = analyze_technical("AAPL", trend_bars(), NOW, CFG)
    assert (verdict.direction, verdict.confidence) == ("LONG", 90)
    assert verdict.entry_type == "pullback_buy"  # no level near, nothing broken
    assert verdict.volatility_regime == "normal"
    assert "trend score +3 of ±3" in verdict.notes


def test_steady_downtrend_is_short() -> None:
    verdict = analyze_technical("AAPL", trend_bars(step=-1.0, start=200.0), NOW, CFG)
    assert (verdict.direction, verdict.confidence) == ("SHORT", 90)
    assert verdict.entry_type == "rally_short"


def test_flat_market_is_neutral() -> None:
    # closes alternate 100 / 101: fast = slow, no slope, last close above → trend +1
    # momentum 0 → neutral confidence 60 − 15 × 1/3 = 55
    bars = [Bar(ts=NOW + 60 * i, open=100.5, high=101, low=100, close=100 + i % 2)
            for i in range(60)]
    verdict = analyze_technical("AAPL", bars, NOW, CFG)
    assert (verdict.direction, verdict.confidence) == ("NEUTRAL", 55)
    assert verdict.entry_type == "none" and verdict.pattern_state == "none"


def test_too_few_bars_is_an_error_naming_the_field() -> None:
    with pytest.raises(AnalysisError, match=r"bars: .* at least 50 bars, got 0"):
        analyze_technical("AAPL", [], NOW, CFG)


def test_levels_split_at_the_last_close_nearest_first() -> None:
    bars = shaped([10, 11, 12, 15, 12, 11, 10, 11, 12, 13, 14, 16])
    supports, resistances = levels(bars, 1.0, CFG)
    assert [lv.price for lv in supports] == [15, 9]  # the broken swing high now supports
    assert resistances == []


def test_pattern_state_breakout_and_not_yet_broken() -> None:
    bars = shaped([10, 11, 12, 15, 12, 11, 10, 11, 12, 13, 14, 16])
    assert pattern_state(bars, "LONG", CFG) == "broken"  # close 15.5 above swing high 15
    assert pattern_state(bars, "SHORT", CFG) == "not_yet_broken"  # still above swing low 9
    assert pattern_state(bars, "NEUTRAL", CFG) == "none"


def test_volatility_regime_from_recent_against_average_range() -> None:
    calm = trend_bars(60, step=0.0)
    wild = calm[:40] + [Bar(ts=b.ts, open=b.open, close=b.close, high=b.high + 2.5,
                            low=b.low - 2.5) for b in calm[40:]]
    assert volatility_regime(calm, atr(calm, 14), CFG) == "normal"
    assert volatility_regime(wild, atr(wild, 14), CFG) == "high"


# --- snapshot from bars -------------------------------------------------------


def test_snapshot_takes_session_extremes_and_vwap() -> None:
    bars = trend_bars(30, step=0.1)
    s = make_snapshot("AAPL", bars, asset_class="stock", atr_30d=2.5)
    assert s.price == bars[-1].close
    assert s.hod == max(b.high for b in bars) and s.lod == min(b.low for b in bars)
    assert s.vwap == pytest.approx(session_vwap(bars, "stock"))


def test_a_snapshot_of_overnight_stock_bars_keeps_the_previous_days_session() -> None:
    """Bars up to 0:36 in New York (05:36 UTC in December): the session is the
    previous day's from its 9:30 open, never an empty one starting later."""
    monday_0036 = 1_796_621_760.0  # 2026-12-07 05:36 UTC
    bars = [Bar(ts=monday_0036 - 60.0 * (29 - i), open=100.0, high=101.0 + i, low=99.0,
                close=100.5, volume=10.0) for i in range(30)]
    s = make_snapshot("SPY", bars, asset_class="stock", atr_30d=2.0)
    assert (s.hod, s.lod, s.price) == (130.0, 99.0, 100.5)
    assert s.vwap is not None


def test_snapshot_refuses_empty_bars_and_zero_atr() -> None:
    with pytest.raises(AnalysisError, match="bars:"):
        make_snapshot("AAPL", [], asset_class="stock", atr_30d=1.0)
    with pytest.raises(AnalysisError, match="atr_30d:"):
        make_snapshot("AAPL", trend_bars(5), asset_class="stock", atr_30d=0.0)


def test_daily_atr_needs_31_daily_bars() -> None:
    with pytest.raises(AnalysisError, match="need 31 daily bars"):
        daily_atr(trend_bars(30))
    assert daily_atr(trend_bars(31)) == pytest.approx(1.25)
