"""VWAP bias, Wild Card points, and confidence as a range with its explanation.

One model gives every percentage: the confidence is the chance of reaching TP1
before the stop, so TP1's probability is the confidence range and the chance the
trade fails is its complement.
"""

from __future__ import annotations

import pytest

from planner.builder import build_plan
from planner.confidence import against_vwap, base_range, explain, spread, wildcard_risk
from planner.parts import Direction, Range, Risk
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
    assert spread(70, 70) == 5  # ± 5
    assert spread(90, 10) == 15  # ± min(15, 5 + 80 / 5)
    assert base_range(70, spread(70, 70), 100) == (65, 75)
    assert base_range(97, 5, 100) == (92, 100)


def test_base_range_stops_at_the_rows_own_ceiling() -> None:
    """Agreement caps at 95 and a Macro-only trade at 60: the range's top does too."""
    assert base_range(95, 7, 95) == (88, 95)
    assert base_range(60, 15, 60) == (45, 60)
    assert base_range(3, 15, 100) == (0, 18)


def test_explanation_follows_the_seed_example() -> None:
    """The seed: "75% confidence means Technical and Macro align with moderate conviction.
    There's a 25% chance the trade fails due to unexpected news or failed support."."""
    assert explain(75, Range(low=68, high=82), "agree", "LONG", "unexpected news", CFG) == (
        "75% confidence means Technical and Macro align on LONG with moderate conviction: a "
        "75% chance (68–82%) that price reaches TP1 before the stop. There's a 25% chance the "
        "trade fails due to unexpected news or failed support.")
    assert "failed resistance" in explain(55, Range(low=50, high=60), "conflict", "SHORT",
                                          "unexpected news", CFG)
    assert "moderate conviction" in explain(55, Range(low=50, high=60), "technical_only",
                                            "LONG", "x", CFG)
    assert "strong conviction" in explain(80, Range(low=75, high=85), "agree", "LONG", "x", CFG)


def test_a_range_capped_to_its_point_is_not_repeated() -> None:
    text = explain(80, Range(low=80, high=80), "technical_only", "SHORT", "x", CFG)
    assert "an 80% chance that price reaches TP1" in text


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


# --- the range obeys what the point obeys ---------------------------------------


def test_a_capped_short_range_stays_under_the_cap() -> None:
    """Probe: a SHORT capped at 80 (macro not bearish) carried a range of 66–94."""
    plan = build_plan(tech("SHORT", 90, resistances=(100.5, 101.0), supports=(97.0,)),
                      macro("NEUTRAL", 45), wild(), snap(vwap=101.0), account(), "DAY", NOW,
                      CONFIG)
    assert plan.confidence == 80 and plan.flags.short_confidence_capped
    # base 90 ± (5 + 45 / 5) = 76..104, each end through the same steps: 76, 80
    assert (plan.confidence_range.low, plan.confidence_range.high) == (76, 80)


def test_no_range_reaches_above_the_plan_cap() -> None:
    """Agreement at 95 (the cap) with a wide split: the range's top is 95, not 100."""
    plan = build_plan(tech("LONG", 90), macro("LONG", 40), wild(), snap(), account(), "DAY",
                      NOW, CONFIG)
    assert plan.confidence == 95
    assert (plan.confidence_range.low, plan.confidence_range.high) == (80, 95)


def test_penalties_move_both_ends_of_the_range() -> None:
    """80 − 5 (against VWAP) − 10 (high risk): the range 73..87 becomes 58..72."""
    fomc = Risk(kind="FOMC", description="FOMC in 3h00m", severity="high")
    plan = build_plan(tech(), macro(), wild(fomc), snap(vwap=101.0), account(), "DAY", NOW,
                      CONFIG)
    assert plan.confidence == 65
    assert (plan.confidence_range.low, plan.confidence_range.high) == (58, 72)


def test_macro_only_range_respects_its_cap() -> None:
    plan = build_plan(tech("NEUTRAL", 30), macro("LONG", 80), wild(), snap(), account(), "DAY",
                      NOW, CONFIG)
    assert plan.confidence == 60
    assert plan.confidence_range.high == 60


# --- one model for the sentence and the targets -----------------------------------


def test_fail_chance_and_target_chances_come_from_one_model() -> None:
    """Probe: "There's a 5% chance the trade fails" beside a 69–84% chance of TP1."""
    plan = build_plan(tech("SHORT", 90, entry_type="rally_short", supports=(98.6, 97.0),
                           resistances=(100.0, 101.0)),
                      macro("SHORT", 60, regime="risk_off"), wild(), snap(99.9, vwap=100.5),
                      account(), "DAY", NOW, CONFIG)
    tp1, tp2 = (t.probability for t in plan.targets)
    assert (tp1.low, tp1.high) == (plan.confidence_range.low, plan.confidence_range.high)
    assert tp1.low <= plan.confidence <= tp1.high
    fail = round(100 - plan.confidence)
    assert f"There's a {fail}% chance the trade fails" in plan.confidence_explanation
    assert f"({tp1.low:g}–{tp1.high:g}%) that price reaches TP1" in plan.confidence_explanation
    assert tp2.low <= tp1.low and tp2.high <= tp1.high
