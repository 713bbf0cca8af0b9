"""The seed's SHORT safety table, row by row; and that none of it touches a LONG."""

from __future__ import annotations

import pytest

from planner.builder import build_plan
from planner.messages import TradePlan
from planner.parts import Regime
from planner.short_safety import ANTICIPATORY, EXTRA_CAUTION, check_short
from tests.unit.planner.planner_factories import (
    CONFIG,
    NOW,
    account,
    bar,
    macro,
    snap,
    tech,
    wild,
)

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
    # 90 − 10 (conflict) − 15 (risk_on) − 10 (long vocabulary) = 55: under the 80 cap already
    assert plan.confidence == 55
    assert plan.flags.anticipatory_signal and plan.flags.entry_vocabulary_mismatch
    assert not plan.flags.short_confidence_capped
    assert plan.entry is not None
    assert any("a bar closing below $98.50" in w for w in plan.entry.waiting_instructions)


# --- row 4: an anticipatory SHORT waits for its breakdown, consistently ----------------


def _anticipatory() -> TradePlan:
    """Probe: short a rally into $99.80–$100.00 and also "wait for a confirmed breakdown
    below $98.60", where $98.60 was TP1; at 95 % (risk_off) and full size."""
    verdict = tech("SHORT", 90, entry_type="rally_short", pattern="not_yet_broken",
                   supports=(98.6, 97.0), resistances=(100.0, 101.0))
    return build_plan(verdict, macro("SHORT", 60, regime="risk_off"), wild(),
                      snap(99.9, vwap=100.5), account(), "DAY", NOW, CONFIG)


def test_anticipatory_entry_waits_for_the_breakdown_and_shorts_its_retest() -> None:
    plan = _anticipatory()
    assert plan.decision == "TRADE" and plan.entry is not None
    entry = plan.entry
    assert entry.trigger_level == 98.6
    assert (entry.zone.low, entry.zone.high) == pytest.approx((98.4, 98.6))  # just under it
    assert entry.trigger == ("Short in $98.40–$98.60 after a confirmed breakdown: a bar closing "
                             "below $98.60 (S)")
    assert entry.strategy == "short the retest of the broken support"
    assert entry.waiting_instructions == [
        "Anticipatory signal: wait for a confirmed breakdown (a bar closing below $98.60 (S)), "
        "then short the retest of $98.60 from below in $98.40–$98.60; do not short ahead of "
        "the break"]
    assert not any("rally" in w or "Price is in the zone" in w
                   for w in entry.waiting_instructions)


def test_anticipatory_targets_lie_beyond_the_trigger() -> None:
    plan = _anticipatory()
    assert plan.entry is not None and plan.entry.trigger_level is not None
    assert all(t.price_range.high < plan.entry.trigger_level for t in plan.targets)
    assert plan.stop_loss is not None and plan.stop_loss.price_range.low > plan.entry.zone.high


def test_anticipatory_signal_lowers_the_size_and_says_what_it_did() -> None:
    plan = _anticipatory()
    assert plan.confidence == 95  # the seed's row flags; it does not take points
    assert plan.position is not None and plan.position.size == "half"
    assert plan.position.size_reason.endswith("full lowered to half for the anticipatory signal")
    assert any(w.startswith("Anticipatory signal: the entry waits for the breakdown of $98.60")
               and w.endswith("size lowered from full to half") for w in plan.warnings)
    assert ANTICIPATORY in plan.warnings


def test_anticipatory_trigger_falls_back_to_todays_low() -> None:
    verdict = tech("SHORT", 70, pattern="not_yet_broken", supports=(),
                   resistances=(100.5, 101.0))
    plan = build_plan(verdict, macro("SHORT", 60, regime="risk_off"), wild(),
                      snap(vwap=101.0, lod=99.0), account(), "DAY", NOW, CONFIG)
    assert plan.entry is not None and plan.entry.trigger_level == 99.0
    assert "a bar closing below $99.00 (LOD)" in plan.entry.trigger


def test_anticipatory_zone_is_not_moved_by_the_chase_guard() -> None:
    """At the day's low with no bounce the guard blocks; the anticipatory entry already waits
    for a breakdown and a retest from below (the bounce), so its zone stays under the trigger."""
    red = [bar(NOW - 60 * (5 - i), 98.4, 98.3) for i in range(5)]
    verdict = tech("SHORT", 70, pattern="not_yet_broken", supports=(97.5,),
                   resistances=(99.0, 100.0))
    plan = build_plan(verdict, macro("SHORT", 60, regime="risk_off"), wild(),
                      snap(98.1, lod=98.0, vwap=99.0, bars=red), account(), "DAY", NOW, CONFIG)
    assert plan.chase is not None and plan.chase.status == "BLOCK"
    assert plan.entry is not None and plan.entry.trigger_level == 97.5
    assert plan.entry.zone.high == 97.5
    assert all(t.price_range.high < 97.5 for t in plan.targets)
    assert any(w.startswith("BLOCK: SHORT would chase") for w in plan.warnings)


def test_a_broken_pattern_enters_as_before() -> None:
    plan = build_plan(tech("SHORT", 70, resistances=(100.5, 101.0)),
                      macro("SHORT", 60, regime="risk_off"), wild(), snap(vwap=101.0),
                      account(), "DAY", NOW, CONFIG)
    assert plan.entry is not None and plan.entry.trigger_level is None
    assert plan.entry.zone.high == 100.5


# --- row 5: the vocabulary check changes the plan, and says how ----------------------------


def test_long_vocabulary_on_a_short_is_reworded_and_costs_points() -> None:
    """Probe: a SHORT with entry type buy_support and risk_off macro had 95 % and full size
    with only a flag."""
    plan = build_plan(tech("SHORT", 90, entry_type="buy_support", resistances=(100.5, 101.0),
                           supports=(97.0,)),
                      macro("SHORT", 80, regime="risk_off"), wild(), snap(vwap=101.0),
                      account(), "DAY", NOW, CONFIG)
    assert plan.confidence == 85  # 95 − 10
    assert plan.entry is not None and plan.entry.strategy == "short at resistance"
    assert ("Entry type 'buy_support' is not SHORT vocabulary: the entry is read as its SHORT "
            "mirror 'short_resistance', confidence -10") in plan.warnings
    assert plan.flags.entry_vocabulary_mismatch


@pytest.mark.parametrize(("word", "strategy"), [
    ("breakout", "short the retest of the broken support"), ("bounce", "short the rejection"),
    ("pullback_buy", "short the rally into resistance"),
    ("scalp", "short the rejection at resistance"),
])
def test_every_mismatched_word_is_read_in_short_words(word: str, strategy: str) -> None:
    result = check_short("SHORT", 70, tech("SHORT", entry_type=word), macro("SHORT"), CFG)
    assert result.confidence == 60
    plan = build_plan(tech("SHORT", 70, entry_type=word, resistances=(100.5, 101.0)),
                      macro("SHORT", 60, regime="risk_off"), wild(), snap(vwap=101.0),
                      account(), "DAY", NOW, CONFIG)
    assert plan.entry is not None and plan.entry.strategy == strategy


def test_short_plan_with_neutral_macro_is_capped_at_80() -> None:
    plan = build_plan(tech("SHORT", 95, resistances=(100.5, 101.0), supports=(97.0,)),
                      macro("NEUTRAL", 30), wild(), snap(vwap=101.0), account(), "DAY", NOW,
                      CONFIG)
    assert plan.direction == "SHORT"
    assert plan.confidence == 80
    assert plan.flags.short_confidence_capped
