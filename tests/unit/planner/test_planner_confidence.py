"""VWAP bias, Wild Card points, and confidence as a range with its explanation."""

from __future__ import annotations

import pytest

from planner.builder import build_plan
from planner.confidence import against_vwap, confidence_range, explain, wildcard_risk
from planner.parts import Direction, Risk
from planner.synthesis import vwap_bias, vwap_note
from tests.unit.planner.planner_factories import CONFIG, NOW, account, macro, snap, tech, wild

CFG = CONFIG.synthesis


@pytest.mark.parametrize(("price", "vwap", "bias"), [
    (100.0, 99.0, "LONG"),       # price above VWAP favours longs
    (98.0, 99.0, "SHORT"),       # below favours shorts
    (99.03, 99.0, "NEUTRAL"),    # within 0.02 ATR (0.04) of VWAP: no bias
    (100.0, None, "NEUTRAL"),
])
def test_vwap_bias(price: float, vwap: float | None, bias: Direction) -> None:
    assert vwap_bias(price, vwap, 2.0, CFG.vwap_band_atr) == bias


def test_vwap_note_reads_like_the_seed() -> None:
    assert vwap_note(100.0, 99.5, "LONG") == "Price $100.00 is above VWAP $99.50: favours longs"
    assert vwap_note(98.0, 99.5, "SHORT").endswith("favours shorts")


def test_trading_against_vwap_costs_five_points() -> None:
    result = against_vwap(70, "LONG", "SHORT", CFG)
    assert result.confidence == 65
    assert result.warnings == ("LONG with price below VWAP (VWAP favours SHORT): confidence -5",)
    assert against_vwap(70, "LONG", "LONG", CFG).confidence == 70
    assert against_vwap(70, "SHORT", "NEUTRAL", CFG).confidence == 70


@pytest.mark.parametrize(("severity", "points"), [("low", 0), ("medium", 5), ("high", 10),
                                                  ("critical", 20)])
def test_wildcard_worst_risk_costs_its_points(severity: str, points: float) -> None:
    result = wildcard_risk(70, severity, CFG)  # type: ignore[arg-type]
    assert result.confidence == 70 - points


def test_range_widens_with_disagreement() -> None:
    agree = confidence_range(70, 70, 70)
    split = confidence_range(70, 90, 10)
    assert (agree.low, agree.high) == (65, 75)  # ± 5
    assert (split.low, split.high) == (55, 85)  # ± min(15, 5 + 80 / 5)
    edge = confidence_range(97, 95, 95)
    assert edge.high == 100


def test_explanation_follows_the_seed_example() -> None:
    assert explain(75, "agree", "LONG", "unexpected news", CFG) == (
        "75% confidence means Technical and Macro align on LONG with strong conviction. "
        "There's a 25% chance the trade fails due to unexpected news or failed support.")
    assert "failed resistance" in explain(55, "conflict", "SHORT", "unexpected news", CFG)
    assert "moderate conviction" in explain(55, "technical_only", "LONG", "x", CFG)


def test_plan_confidence_pipeline_vwap_then_wildcard() -> None:
    """80 (agreement) − 5 (LONG below VWAP) − 10 (high wild-card risk) = 65."""
    fomc = Risk(kind="FOMC", description="FOMC in 3h00m", severity="high")
    plan = build_plan(tech(), macro(), wild(fomc), snap(vwap=101.0), account(), "DAY", NOW,
                      CONFIG)
    assert plan.confidence == 65
    assert plan.position is not None and plan.position.size == "half"
    assert "FOMC in 3h00m" in plan.confidence_explanation
    assert plan.synthesis is not None and plan.synthesis.wildcard_risk == "high"
    assert plan.synthesis.vwap_bias == "SHORT"
