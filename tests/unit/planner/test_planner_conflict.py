"""The seed's conflict table, row by row, and its mirror image for SHORT."""

from __future__ import annotations

import pytest

from planner.builder import build_plan
from planner.synthesis import resolve_conflict
from tests.unit.planner.planner_factories import CONFIG, NOW, account, macro, snap, tech, wild

CFG = CONFIG.synthesis


def test_long_long_is_strong_agreement_with_high_confidence() -> None:
    """Row 1: Technical LONG, Macro LONG → strong agreement → high-confidence trade."""
    r = resolve_conflict(tech("LONG", 70), macro("LONG", 60), CFG)
    assert r.direction == "LONG"
    assert r.agreement == "agree"
    assert r.confidence == 80  # max(70, 60) + 10 agreement bonus
    assert "strong agreement" in r.rule


def test_weak_agreement_does_not_claim_high_confidence() -> None:
    """The row's words "high-confidence trade" beside a 40% plan contradicted the plan."""
    r = resolve_conflict(tech("LONG", 30), macro("LONG", 20), CFG)
    assert (r.direction, r.confidence) == ("LONG", 40)
    assert "high-confidence trade" not in r.rule
    assert r.rule == ("Technical and Macro both say LONG, but at 30% and 20%: agreement → "
                      "trade, at 40% short of high confidence")


def test_agreement_never_exceeds_the_cap() -> None:
    r = resolve_conflict(tech("LONG", 92), macro("LONG", 90), CFG)
    assert r.confidence == CFG.confidence_cap == 95


def test_long_vs_short_technical_wins() -> None:
    """Row 2: Technical LONG, Macro SHORT → Technical wins (has actual price data)."""
    r = resolve_conflict(tech("LONG", 70), macro("SHORT", 80), CFG)
    assert r.direction == "LONG"
    assert r.agreement == "conflict"
    assert r.confidence == 60  # 70 − 10 conflict penalty
    assert "Technical wins (has actual price data)" in r.rule


def test_long_with_neutral_macro_trades_technical_direction() -> None:
    """Row 3: Technical LONG, Macro NEUTRAL → trade the Technical direction."""
    r = resolve_conflict(tech("LONG", 55), macro("NEUTRAL", 70), CFG)
    assert (r.direction, r.agreement, r.confidence) == ("LONG", "technical_only", 55)
    assert "trade the Technical direction" in r.rule


def test_both_neutral_below_40_is_no_trade() -> None:
    """Row 4: both say NEUTRAL <40% → No Trade."""
    r = resolve_conflict(tech("NEUTRAL", 39), macro("NEUTRAL", 39.9), CFG)
    assert r.direction is None
    assert "<40%" in r.rule


@pytest.mark.parametrize(("t_dir", "m_dir", "expected", "agreement"), [
    ("SHORT", "SHORT", "SHORT", "agree"),
    ("SHORT", "LONG", "SHORT", "conflict"),
    ("SHORT", "NEUTRAL", "SHORT", "technical_only"),
])
def test_mirror_rows_for_short(t_dir: str, m_dir: str, expected: str, agreement: str) -> None:
    r = resolve_conflict(tech(t_dir, 70), macro(m_dir, 60), CFG)  # type: ignore[arg-type]
    assert r.direction == expected
    assert r.agreement == agreement


def test_seed_silent_both_neutral_with_conviction_is_no_trade() -> None:
    """Choice: both NEUTRAL but one at ≥40% still gives no direction to trade."""
    r = resolve_conflict(tech("NEUTRAL", 65), macro("NEUTRAL", 20), CFG)
    assert r.direction is None
    assert "no direction to trade" in r.rule


def test_seed_silent_macro_only_above_50_trades_macro_direction_capped() -> None:
    """"ONE agent directional with >50%": Macro alone leads, capped at 60."""
    r = resolve_conflict(tech("NEUTRAL", 30), macro("LONG", 85), CFG)
    assert (r.direction, r.agreement, r.confidence) == ("LONG", "macro_only", 60)


def test_seed_silent_macro_only_at_50_is_no_trade() -> None:
    r = resolve_conflict(tech("NEUTRAL", 30), macro("SHORT", 50), CFG)
    assert r.direction is None
    assert "needs >50%" in r.rule


def test_technical_only_low_confidence_still_trades_the_table_row() -> None:
    """Row 3 has no threshold: a weak Technical call trades, at quarter size."""
    plan = build_plan(tech("LONG", 25), macro("NEUTRAL", 30), wild(), snap(), account(),
                      "DAY", NOW, CONFIG)
    assert plan.decision == "TRADE"
    assert plan.position is not None and plan.position.size == "quarter"


def test_plan_synthesis_reports_each_agent_stance() -> None:
    plan = build_plan(tech("LONG", 70), macro("SHORT", 60), wild(), snap(), account(),
                      "DAY", NOW, CONFIG)
    assert plan.synthesis is not None
    assert plan.synthesis.technical.stance == "supports"
    assert plan.synthesis.macro.stance == "opposes"
    assert plan.synthesis.agreement == "conflict"
    assert "Technical wins" in plan.synthesis.resolution
