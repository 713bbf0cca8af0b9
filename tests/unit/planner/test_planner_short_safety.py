"""The seed's SHORT safety table, row by row; and that none of it touches a LONG."""

from __future__ import annotations

import pytest

from planner.builder import build_plan
from planner.parts import Regime
from planner.short_safety import ANTICIPATORY, EXTRA_CAUTION, check_short
from tests.unit.planner.planner_factories import CONFIG, NOW, account, macro, snap, tech, wild

CFG = CONFIG.short_safety


def test_row1_risk_on_macro_reduces_confidence_by_15_and_warns() -> None:
    result = check_short("SHORT", 70, tech("SHORT"), macro("LONG", regime="risk_on"), CFG)
    assert result.confidence == 55
    assert any("risk_on" in w and "-15" in w for w in result.warnings)


def test_row2_neutral_macro_adds_extra_caution_note() -> None:
    result = check_short("SHORT", 70, tech("SHORT"), macro("NEUTRAL"), CFG)
    assert result.confidence == 70
    assert any(EXTRA_CAUTION in w for w in result.warnings)


def test_row3_risk_off_macro_keeps_full_confidence() -> None:
    result = check_short("SHORT", 90, tech("SHORT"), macro("SHORT", regime="risk_off"), CFG)
    assert result.confidence == 90
    assert not result.capped
    assert result.warnings == ()
    assert any("conditions aligned" in f for f in result.flags)


def test_row4_pattern_not_yet_broken_is_anticipatory() -> None:
    verdict = tech("SHORT", pattern="not_yet_broken")
    result = check_short("SHORT", 70, verdict, macro("SHORT"), CFG)
    assert result.anticipatory
    assert ANTICIPATORY in result.flags
    assert ANTICIPATORY == "anticipatory signal - wait for breakdown"


@pytest.mark.parametrize("word", ["breakout", "buy_support", "bounce", "pullback_buy", "none"])
def test_row5_long_vocabulary_on_a_short_is_flagged(word: str) -> None:
    result = check_short("SHORT", 70, tech("SHORT", entry_type=word), macro("SHORT"), CFG)
    assert result.vocabulary_mismatch
    assert any(word in f for f in result.flags)


@pytest.mark.parametrize("word", ["rejection", "Breakdown Retest", "short-resistance",
                                  "failed_breakout"])
def test_row5_short_vocabulary_passes_in_any_spelling(word: str) -> None:
    result = check_short("SHORT", 70, tech("SHORT", entry_type=word), macro("SHORT"), CFG)
    assert not result.vocabulary_mismatch


@pytest.mark.parametrize("regime", ["risk_on", "neutral"])
def test_row6_short_never_above_80_unless_macro_bearish(regime: Regime) -> None:
    result = check_short("SHORT", 95, tech("SHORT"), macro("NEUTRAL", regime=regime), CFG)
    assert result.confidence <= 80
    if regime == "neutral":
        assert result.capped and result.confidence == 80


def test_row6_bearish_macro_allows_short_above_80() -> None:
    result = check_short("SHORT", 92, tech("SHORT"), macro("SHORT", regime="risk_off"), CFG)
    assert result.confidence == 92


def test_long_is_untouched_by_every_row() -> None:
    """"This does NOT apply to LONG trades"."""
    verdict = tech("LONG", entry_type="rejection", pattern="not_yet_broken")
    result = check_short("LONG", 95, verdict, macro("SHORT", regime="risk_off"), CFG)
    assert result.confidence == 95
    assert result.flags == () and result.warnings == ()


def test_macro_led_short_is_not_judged_on_technical_vocabulary() -> None:
    """Choice: pattern and vocabulary rows judge a Technical SHORT call only."""
    result = check_short("SHORT", 60, tech("NEUTRAL", entry_type="none"), macro("SHORT"), CFG)
    assert not result.vocabulary_mismatch and not result.anticipatory


def test_short_plan_carries_flags_and_a_breakdown_wait() -> None:
    verdict = tech("SHORT", 90, entry_type="breakout", pattern="not_yet_broken",
                   supports=(98.5,), resistances=(100.5, 101.0))
    plan = build_plan(verdict, macro("LONG", 40, regime="risk_on"), wild(),
                      snap(vwap=101.0), account(), "DAY", NOW, CONFIG)
    assert plan.decision == "TRADE" and plan.direction == "SHORT"
    # 90 − 10 (conflict) − 15 (risk_on) = 65: under the 80 cap already
    assert plan.confidence == 65
    assert plan.flags.anticipatory_signal and plan.flags.entry_vocabulary_mismatch
    assert not plan.flags.short_confidence_capped
    assert plan.entry is not None
    assert any("breakdown below $98.50" in w for w in plan.entry.waiting_instructions)


def test_short_plan_with_neutral_macro_is_capped_at_80() -> None:
    plan = build_plan(tech("SHORT", 95, resistances=(100.5, 101.0), supports=(97.0,)),
                      macro("NEUTRAL", 30), wild(), snap(vwap=101.0), account(), "DAY", NOW,
                      CONFIG)
    assert plan.direction == "SHORT"
    assert plan.confidence == 80
    assert plan.flags.short_confidence_capped
