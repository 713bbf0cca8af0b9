"""The built-in Macro analyzer: components, regime, alignment and confidence by hand."""

from __future__ import annotations

import pytest

from planner.config import MacroConfig
from planner.macro import analyze_macro, components, funding_score
from planner.messages import CrossAssetSnapshot
from tests.unit.planner.planner_factories import NOW

CFG = MacroConfig()
UP = [100.0 + i for i in range(60)]
DOWN = [200.0 - i for i in range(60)]


def cross(**kw: object) -> CrossAssetSnapshot:
    return CrossAssetSnapshot(ts=NOW, **kw)  # type: ignore[arg-type]


def test_components_are_scored_from_minus_one_to_one() -> None:
    scores = components(cross(index_closes=UP, vix=14.0, vix_change_pct=-5.0,
                              dollar_change_pct=0.25, yield_change_bp=5.0), CFG)
    assert scores["index"] == 1.0
    assert scores["vix"] == pytest.approx((1.0 + 0.5) / 2)  # level clamps at +1, change +0.5
    assert scores["dollar"] == pytest.approx(-0.5)
    assert scores["yields"] == pytest.approx(-0.5)
    assert scores["btc"] is None and scores["funding"] is None


def test_stock_risk_on_hand_computed() -> None:
    # S = 0.4·1 + 0.3·0.75 + 0.15·(−0.5) + 0.15·(−0.5) = 0.475 → risk_on
    # alignment = (0.4 + 0.3) / 1.0 = 70 %; confidence = 100·(0.3 + 0.4·0.475 + 0.3·0.7) = 70
    verdict = analyze_macro(cross(index_closes=UP, vix=14.0, vix_change_pct=-5.0,
                                  dollar_change_pct=0.25, yield_change_bp=5.0), "stock", CFG)
    assert (verdict.regime, verdict.direction) == ("risk_on", "LONG")
    assert verdict.alignment == 70
    assert verdict.confidence == 70
    assert "VIX 14.0 (-5.0%)" in verdict.economic_assessment


def test_stock_risk_off_is_capped_at_max_confidence() -> None:
    verdict = analyze_macro(cross(index_closes=DOWN, vix=30.0, vix_change_pct=20.0,
                                  dollar_change_pct=1.0, yield_change_bp=20.0), "stock", CFG)
    assert (verdict.regime, verdict.direction) == ("risk_off", "SHORT")
    assert verdict.alignment == 100
    assert verdict.confidence == 90  # 100 before the cap


def test_neutral_with_partial_data_loses_confidence_to_coverage() -> None:
    # only VIX 20: level score 0, S = 0, coverage 0.3 → 100·0.3·0.6 = 18
    verdict = analyze_macro(cross(vix=20.0), "index_etf", CFG)
    assert (verdict.regime, verdict.direction, verdict.confidence) == ("neutral", "NEUTRAL", 18)


def test_no_data_is_neutral_at_zero() -> None:
    verdict = analyze_macro(cross(), "stock", CFG)
    assert (verdict.regime, verdict.confidence) == ("neutral", 0)
    assert verdict.economic_assessment == "No cross-asset data available"


def test_crypto_uses_btc_trend_and_funding() -> None:
    # btc +1 (w 0.5), funding 0.1 %/8h is extreme → −1 (w 0.1): S = 0.4 / 0.6 = 0.667
    # alignment 0.5 / 0.6 = 83.3 %; coverage 0.6 → 60·(0.3 + 0.267 + 0.25) = 49
    verdict = analyze_macro(cross(btc_closes=UP, funding_rate=0.001), "crypto", CFG)
    assert verdict.regime == "risk_on"
    assert verdict.alignment == 83
    assert verdict.confidence == 49
    assert "funding +0.100%/8h" in verdict.economic_assessment


def test_btc_trend_is_ignored_for_stocks() -> None:
    verdict = analyze_macro(cross(btc_closes=DOWN), "stock", CFG)
    assert verdict.confidence == 0


@pytest.mark.parametrize(("rate", "score"), [(None, None), (0.0001, 0.0), (-0.0004, 0.0),
                                             (0.0005, -1.0), (-0.002, 1.0)])
def test_funding_is_read_contrarily_only_when_extreme(rate: float | None,
                                                      score: float | None) -> None:
    assert funding_score(rate, CFG) == score


def test_short_index_history_drops_the_component() -> None:
    assert components(cross(index_closes=UP[:49]), CFG)["index"] is None
