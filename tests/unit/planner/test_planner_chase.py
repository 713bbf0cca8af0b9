"""Anti-chase: the deterministic guard (layer 2) and the prompt text (layer 1)."""

from __future__ import annotations

import msgspec
import pytest

from planner.builder import build_plan
from planner.chase import chase_zones, check_chase, opposite_bars
from planner.config import ChaseConfig, PlannerConfig
from planner.messages import TradePlan
from planner.parts import Bar
from planner.prompt import chase_context, chase_rules
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

CFG = ChaseConfig()


def coloured(pattern: str, price: float = 102.5) -> list[Bar]:
    """One bar per letter, oldest first: G green, R red, D doji."""
    moves = {"G": (price - 0.1, price), "R": (price, price - 0.1), "D": (price, price)}
    return [bar(NOW - 60 * (len(pattern) - i), *moves[c]) for i, c in enumerate(pattern)]


def chase(direction: str, price: float, pattern: str) -> str:
    return check_chase(direction, price=price, hod=103.0, lod=98.0, atr=2.0,  # type: ignore[arg-type]
                       bars=coloured(pattern), cfg=CFG).status


def test_zones_are_ten_percent_of_atr_from_hod_and_lod() -> None:
    long_zone, short_zone = chase_zones(103.0, 98.0, 2.0, CFG)
    assert (long_zone.low, long_zone.high) == pytest.approx((102.8, 103.0))
    assert (short_zone.low, short_zone.high) == pytest.approx((98.0, 98.2))


def test_long_in_chase_zone_without_pullback_is_blocked() -> None:
    assert chase("LONG", 102.9, "GGGGG") == "BLOCK"


def test_long_in_chase_zone_with_one_red_bar_is_still_blocked() -> None:
    assert chase("LONG", 102.9, "GGRGG") == "BLOCK"


def test_long_in_chase_zone_after_two_red_bars_passes() -> None:
    assert chase("LONG", 102.9, "GRGRG") == "PULLBACK_OK"


def test_long_outside_the_zone_is_clear() -> None:
    assert chase("LONG", 102.7, "GGGGG") == "CLEAR"


def test_short_in_chase_zone_without_pullback_is_blocked() -> None:
    assert chase("SHORT", 98.1, "RRRRR") == "BLOCK"


def test_short_in_chase_zone_after_two_green_bars_passes() -> None:
    assert chase("SHORT", 98.1, "RGRGR") == "PULLBACK_OK"


def test_short_outside_the_zone_is_clear() -> None:
    assert chase("SHORT", 98.3, "RRRRR") == "CLEAR"


def test_only_the_last_bars_count_and_doji_count_for_neither() -> None:
    assert opposite_bars(coloured("RRGGGGG"), "LONG", 5) == 0
    assert opposite_bars(coloured("DDDDR"), "LONG", 5) == 1
    assert opposite_bars(coloured("DDDDG"), "SHORT", 5) == 1


def test_price_above_a_stale_hod_is_in_the_zone() -> None:
    result = check_chase("LONG", price=103.5, hod=103.0, lod=98.0, atr=2.0,
                         bars=coloured("GGGGG"), cfg=CFG)
    assert result.status == "BLOCK" and result.distance_to_hod == 0


def test_block_reason_names_the_zone_and_the_missing_pullback() -> None:
    result = check_chase("LONG", price=102.9, hod=103.0, lod=98.0, atr=2.0,
                         bars=coloured("GGGGG"), cfg=CFG)
    assert result.reason.startswith("BLOCK: LONG would chase")
    assert "$102.80–$103.00" in result.reason and "0 red bar(s)" in result.reason


# --- in the plan --------------------------------------------------------------


def chasing_long(config: PlannerConfig = CONFIG) -> TradePlan:
    return build_plan(tech("LONG", 75, supports=(102.85, 101.0), resistances=(106.0, 108.0)),
                      macro(), wild(), snap(102.9, hod=103.0, bars=coloured("GGGGG")),
                      account(), "DAY", NOW, config)


def test_blocked_long_waits_for_a_pullback_below_the_chase_zone() -> None:
    plan = chasing_long()
    assert plan.decision == "TRADE"
    assert plan.chase is not None and plan.chase.status == "BLOCK"
    assert plan.flags.chase_blocked
    assert plan.entry is not None
    assert plan.entry.zone.high < plan.chase.long_zone.low
    assert plan.entry.waiting_instructions[0].startswith("Do not chase: wait for 2+ red bars")
    assert any(w.startswith("BLOCK: LONG would chase") for w in plan.warnings)


def test_a_moved_zone_does_not_claim_there_was_no_level() -> None:
    """The zone moved away from support $102.85: "near the market ... (no level within
    reach)" contradicted both the level and the move."""
    plan = chasing_long()
    assert plan.entry is not None
    assert plan.entry.trigger == ("Buy in $102.59–$102.79, below the chase zone, after the "
                                  "pullback and a bar closing above the prior bar's high")
    assert not any("no level" in w.lower() for w in plan.entry.waiting_instructions)
    assert plan.entry.waiting_instructions[1] == ("Then enter in $102.59–$102.79 only after a "
                                                  "bar closing above the prior bar's high")


def test_blocked_long_can_be_configured_to_no_trade() -> None:
    raw = msgspec.to_builtins(CONFIG)
    raw["chase"]["on_block"] = "no_trade"
    plan = chasing_long(msgspec.convert(raw, PlannerConfig))
    assert plan.decision == "NO_TRADE"
    assert plan.no_trade_reasons[0].startswith("BLOCK: LONG would chase")
    assert plan.chase is not None and plan.chase.status == "BLOCK"


def test_pullback_lets_the_long_enter_in_the_zone() -> None:
    plan = build_plan(tech("LONG", 75, supports=(102.85,), resistances=(106.0,)), macro(),
                      wild(), snap(102.9, hod=103.0, bars=coloured("GRGRG")), account(), "DAY",
                      NOW, CONFIG)
    assert plan.chase is not None and plan.chase.status == "PULLBACK_OK"
    assert not plan.flags.chase_blocked


def test_blocked_short_waits_for_a_bounce_above_the_chase_zone() -> None:
    plan = build_plan(tech("SHORT", 75, supports=(96.0,), resistances=(98.15, 99.0)),
                      macro("SHORT"), wild(), snap(98.1, lod=98.0, vwap=99.0,
                                                   bars=coloured("RRRRR", 98.3)),
                      account(), "DAY", NOW, CONFIG)
    assert plan.decision == "TRADE" and plan.direction == "SHORT"
    assert plan.chase is not None and plan.chase.status == "BLOCK"
    assert plan.entry is not None and plan.entry.zone.low > plan.chase.short_zone.high


# --- layer 1: the prompt ------------------------------------------------------


def test_rules_quote_the_guard_thresholds() -> None:
    text = chase_rules(CFG)
    assert "10% of the 30-day ATR" in text
    assert "at least 2 opposite-colour bars" in text
    assert "BLOCK a LONG" in text and "BLOCK a SHORT" in text
    assert "ranges, not single numbers" in text


def test_context_has_live_numbers_zones_and_the_warning() -> None:
    s = snap(102.9, hod=103.0, lod=98.0, bars=coloured("GGGGG"))
    text = chase_context(s, CFG)
    for expected in ("Current price $102.90", "HOD $103.00", "LOD $98.00",
                     "Distance to HOD $0.10 (0.05× ATR)", "30-day ATR $2.00",
                     "LONG chase zone $102.80–$103.00", "SHORT chase zone $98.00–$98.20",
                     "0 red, 5 green", "WARNING: price is in the LONG chase zone",
                     "above VWAP $99.50"):
        assert expected in text, expected
    assert "SHORT chase zone with no pullback" not in text
