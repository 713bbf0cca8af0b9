"""The seed's stop / target / time-stop framework by style, and crypto time stops."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.exits import place_stop, place_targets, wide_stop
from planner.messages import TradePlan
from planner.parts import EntryZone, Range, Style
from planner.time_stops import mentions_market_close, time_stop
from tests.unit.planner.planner_factories import (
    CONFIG,
    NOW,
    account,
    lv,
    macro,
    snap,
    tech,
    wild,
)

ZONE = EntryZone(low=99.5, mid=99.6, high=99.7, confidence=80)
SUPPORTS = [lv(99.0, "S1"), lv(97.0, "S2")]
RESISTANCES = [lv(102.0, "R1"), lv(104.0, "R2"), lv(108.0, "R3")]
CHANCE = Range(low=63, high=77)
"""The plan's confidence range: TP1's chance of being reached."""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def stop_for(style: Style, multiplier: float = 1.0) -> tuple[float, float, float]:
    s = place_stop("LONG", ZONE, SUPPORTS, 2.0, CONFIG.style(style), multiplier, "stock")
    return s.price_range.low, s.price_range.high, s.distance_atr


# --- stop placement -----------------------------------------------------------


def test_scalp_stop_is_tight_under_the_nearest_structure() -> None:
    # buffer 0.05 × 2 = 0.10 under S1 99.00 → [98.80, 98.90]; 0.35 ATR from 99.60
    assert stop_for("SCALP") == pytest.approx((98.80, 98.90, 0.35))


def test_day_stop_is_under_intraday_support() -> None:
    # buffer 0.10 × 2 = 0.20 under S1 → [98.60, 98.80]
    assert stop_for("DAY") == pytest.approx((98.60, 98.80, 0.40))


def test_investment_stop_is_wide_past_major_levels() -> None:
    # min room 1.0 × 2 = 2.0: S1 is too near; under S2 97.00 by 0.4 × 2 = 0.80
    low, high, distance = stop_for("INVESTMENT")
    assert (low, high) == pytest.approx((95.40, 96.20))
    assert distance == pytest.approx(1.7)


def test_stop_distance_grows_from_scalp_to_investment() -> None:
    distances = [stop_for(style)[2] for style in ("SCALP", "DAY", "SWING", "INVESTMENT")]
    assert distances == sorted(distances)


def test_volatility_regime_widens_the_buffer() -> None:
    # high volatility: 1.5 × 0.20 = 0.30 under S1
    assert stop_for("DAY", 1.5)[:2] == pytest.approx((98.40, 98.70))


def test_no_structure_gives_an_atr_stop_with_its_rationale() -> None:
    s = place_stop("LONG", ZONE, [], 2.0, CONFIG.style("DAY"), 1.0, "stock")
    assert s.level is None
    assert s.price_range.high == pytest.approx(98.60)  # 99.60 − 0.5 × 2
    assert "No structure" in s.rationale


def test_short_stop_sits_above_resistance() -> None:
    zone = EntryZone(low=101.8, mid=101.9, high=102.0, confidence=80)
    s = place_stop("SHORT", zone, [lv(102.5, "R")], 2.0, CONFIG.style("DAY"), 1.0, "stock")
    assert (s.price_range.low, s.price_range.high) == pytest.approx((102.70, 102.90))
    assert s.rationale.startswith("Stop above $102.50")


# --- which structure anchors the stop, by style --------------------------------------


def _swing_long(style: Style) -> TradePlan:
    """A prior day's low at $97.50 from the Technical verdict; today's low is $98.50."""
    verdict = msgspec.structs.replace(tech("LONG", 70), supports=[lv(97.5, "PDL")])
    return build_plan(verdict, macro(), wild(), snap(lod=98.5), account(), style, NOW, CONFIG)


def test_swing_stop_is_anchored_to_daily_structure_not_todays_low() -> None:
    """Probe: a SWING LONG's stop sat under today's low ($98.50), not the prior day's low."""
    plan = _swing_long("SWING")
    assert plan.stop_loss is not None
    assert plan.stop_loss.level == 97.5
    assert plan.stop_loss.rationale.startswith("Stop below $97.50 (PDL)")
    # buffer 0.2 × 2 = 0.40 under the PDL, one buffer wide
    assert (plan.stop_loss.price_range.low, plan.stop_loss.price_range.high) == \
        pytest.approx((96.70, 97.10))


def test_day_stop_may_still_use_todays_low() -> None:
    """The seed's DAY stop is "based on intraday support": today's low counts."""
    plan = _swing_long("DAY")
    assert plan.stop_loss is not None and plan.stop_loss.level == 98.5


def test_the_minimum_distance_is_measured_to_the_stop_not_the_level() -> None:
    """DAY: min 0.2 ATR (0.40). S at 99.30 is 0.30 from the zone's middle 99.60, but its stop
    (0.20 under it) is 0.50 away: it is used. docs/planner.md says the same."""
    s = place_stop("LONG", ZONE, [lv(99.3, "S")], 2.0, CONFIG.style("DAY"), 1.0, "stock")
    assert s.level is not None and s.level.price == 99.3
    assert s.distance_atr == pytest.approx(0.25)  # (99.60 − 99.10) / 2


def test_the_docs_table_states_the_stop_distances_the_code_uses() -> None:
    """Each style row of docs/planner.md names the stop's minimum and maximum distance, from
    the entry zone's middle to the stop's near edge, with the shipped numbers."""
    docs = (Path(__file__).parents[3] / "docs" / "planner.md").read_text(encoding="utf-8")
    table = docs.split("## Stops, targets and time stops by style", 1)[1].split("\n\n")[1]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    for style in ("SCALP", "DAY", "SWING", "INVESTMENT"):
        frame = CONFIG.style(style)
        assert f"stop ≥ {frame.min_stop_atr:g} ATR" in rows[style], style
        assert f"≤ {frame.max_stop_atr:g} ATR from the entry" in rows[style], style
        assert "level ≥" not in rows[style]
    assert "near edge" in docs.split("## Stops, targets and time stops by style", 1)[1][:3000]


def test_a_long_stop_never_reaches_zero() -> None:
    """A $0.61 zone with a 3 ATR (0.66) INVESTMENT stop would put the stop below $0."""
    zone = EntryZone(low=0.57, mid=0.61, high=0.65, confidence=50)
    s = place_stop("LONG", zone, [], 0.22, CONFIG.style("INVESTMENT"), 1.0, "stock")
    assert 0 < s.price_range.low < s.price_range.high < zone.low
    assert s.rationale.endswith("floored one tick above $0")


def test_a_short_target_never_reaches_zero() -> None:
    zone = EntryZone(low=1.03, mid=1.065, high=1.10, confidence=50)
    targets, _ = place_targets("SHORT", zone, _stop(1.2, 1.3), [], 0.19,
                               CONFIG.style("INVESTMENT"), CHANCE, "stock")
    assert all(0 < t.price_range.low < zone.low for t in targets)
    assert targets[1].rationale.endswith("(floored one tick above $0)")


# --- wider structure than the style allows ------------------------------------


@pytest.mark.parametrize(("distance", "style", "suggested"), [
    (0.8, "SCALP", "DAY"), (2.0, "SCALP", "SWING"), (3.0, "DAY", "INVESTMENT"),
    (7.0, "SWING", None), (7.0, "INVESTMENT", None),
])
def test_wide_structure_suggests_the_narrowest_style_that_fits(
    distance: float, style: Style, suggested: Style | None
) -> None:
    flag = wide_stop(distance, style, CONFIG)
    assert flag is not None
    assert flag.suggested_style == suggested
    assert flag.text.endswith(f"consider {suggested} or NO TRADE" if suggested
                              else "consider NO TRADE")


def test_stop_within_the_style_is_not_flagged() -> None:
    assert wide_stop(0.5, "SCALP", CONFIG) is None


def test_plan_flags_a_scalp_whose_structure_needs_a_day_stop() -> None:
    plan = build_plan(tech("LONG", 70, supports=(97.0,)), macro(), wild(),
                      snap(lod=98.0, vwap=99.8), account(), "SCALP", NOW, CONFIG)
    assert plan.decision == "TRADE"
    assert plan.flags.structure_wider_than_style
    assert plan.flags.suggested_style == "DAY"
    assert any("wider than SCALP allows" in w for w in plan.warnings)


# --- targets ------------------------------------------------------------------


def test_two_scaled_targets_at_the_next_resistances() -> None:
    targets, notes = place_targets("LONG", ZONE, _stop(98.6, 98.8), RESISTANCES, 2.0,
                                   CONFIG.style("DAY"), CHANCE, "stock")
    assert [t.label for t in targets] == ["TP1", "TP2"]
    assert [t.exit_fraction for t in targets] == [0.5, 0.5]
    # band 0.05 × 2 = 0.10 under each resistance
    assert (targets[0].price_range.low, targets[0].price_range.high) == pytest.approx((101.9, 102))
    assert (targets[1].price_range.low, targets[1].price_range.high) == pytest.approx((103.9, 104))
    assert targets[0].probability == CHANCE
    # TP2 is 2.00 beyond TP1 (1 ATR); half-life 2 ATR: × 0.5^0.5 = 0.707 → 45–54
    assert targets[1].probability == Range(low=45, high=54)
    assert notes == []


def test_a_level_nearer_than_one_r_is_skipped_and_noted() -> None:
    # risk 99.60 − 98.80 = 0.80: R at 100.00 pays 0.40 (0.5R) → skipped
    levels = [lv(100.0, "R0"), *RESISTANCES]
    targets, notes = place_targets("LONG", ZONE, _stop(98.6, 98.8), levels, 2.0,
                                   CONFIG.style("DAY"), CHANCE, "stock")
    assert targets[0].price_range.high == pytest.approx(102.0)
    assert notes and "$100.00" in notes[0]


def test_no_level_ahead_falls_back_to_style_atr_distances() -> None:
    targets, _ = place_targets("LONG", ZONE, _stop(98.6, 98.8), [], 2.0,
                               CONFIG.style("INVESTMENT"), CHANCE, "stock")
    # TP1 4 × 2 = 8 above 99.60; TP2 a further (8 − 4) × 2 = 8
    assert targets[0].price_range.high == pytest.approx(107.6)
    assert targets[1].price_range.high == pytest.approx(115.6)
    assert "trend-based" in targets[0].rationale


def test_short_targets_below_support() -> None:
    zone = EntryZone(low=101.8, mid=101.9, high=102.0, confidence=80)
    targets, _ = place_targets("SHORT", zone, _stop(102.7, 102.9), [lv(100.0), lv(98.0)], 2.0,
                               CONFIG.style("DAY"), CHANCE, "stock")
    assert (targets[0].price_range.low, targets[0].price_range.high) == pytest.approx((100, 100.1))
    assert targets[1].price_range.high < targets[0].price_range.low


def _stop(low: float, high: float) -> Range:
    return Range(low=low, high=high)


# --- time stops ---------------------------------------------------------------


def test_scalp_time_stop_is_15_to_30_minutes() -> None:
    ts = time_stop("SCALP", "stock", NOW, CONFIG.style("SCALP"))
    assert (ts.kind, ts.min, ts.max) == ("minutes", 15, 30)
    assert ts.deadline_ts == NOW + 30 * 60


def test_day_time_stop_is_the_market_close() -> None:
    ts = time_stop("DAY", "stock", NOW, CONFIG.style("DAY"))
    assert ts.kind == "market_close"
    assert ts.text == "Close by 4:00 PM ET (market close)"
    assert ts.deadline_ts == utc(2026, 2, 4, 21, 0)  # 16:00 EST


def test_day_time_stop_in_summer_uses_daylight_time() -> None:
    ts = time_stop("DAY", "index_etf", utc(2026, 7, 1, 14, 0), CONFIG.style("DAY"))
    assert ts.deadline_ts == utc(2026, 7, 1, 20, 0)  # 16:00 EDT


def test_swing_time_stop_is_3_to_5_trading_days() -> None:
    ts = time_stop("SWING", "stock", NOW, CONFIG.style("SWING"))
    assert (ts.kind, ts.min, ts.max) == ("days", 3, 5)
    assert ts.deadline_ts == utc(2026, 2, 11, 21, 0)  # Wednesday + 5 trading days


def test_investment_has_no_time_stop() -> None:
    ts = time_stop("INVESTMENT", "stock", NOW, CONFIG.style("INVESTMENT"))
    assert ts.kind == "none" and ts.deadline_ts is None


def test_crypto_day_time_stop_is_in_hours_never_the_close() -> None:
    ts = time_stop("DAY", "crypto", NOW, CONFIG.style("DAY"))
    assert ts.text == "Close within 8-12 hours"
    assert (ts.kind, ts.min, ts.max, ts.deadline_ts) == ("hours", 8, 12, NOW + 12 * 3600)


def test_crypto_swing_time_stop_is_in_hours() -> None:
    ts = time_stop("SWING", "crypto", NOW, CONFIG.style("SWING"))
    assert ts.text == "Close within 72-120 hours (3-5 days)"


@pytest.mark.parametrize("style", ["SCALP", "DAY", "SWING", "INVESTMENT"])
def test_no_crypto_plan_speaks_of_the_close(style: Style) -> None:
    plan = build_plan(tech(symbol="BTCUSDT", supports=(99.0,), resistances=(102.0,)), macro(),
                      wild(symbol="BTCUSDT"), snap(asset_class="crypto", symbol="BTCUSDT"),
                      account(), style, NOW, CONFIG)
    assert plan.decision == "TRADE"
    text = msgspec.json.encode(plan).decode()
    assert not mentions_market_close(text)
    assert "4:00 PM" not in text and "EOD" not in text


def test_crypto_day_hours_come_from_config() -> None:
    raw = msgspec.to_builtins(CONFIG)
    raw["styles"]["DAY"]["crypto_time_stop_hours"] = [6, 8]
    cfg = msgspec.convert(raw, PlannerConfig)
    ts = time_stop("DAY", "crypto", NOW, cfg.style("DAY"))
    assert ts.text == "Close within 6-8 hours"


def test_stock_plan_uses_the_close() -> None:
    plan: TradePlan = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW, CONFIG)
    assert plan.time_stop is not None and plan.time_stop.kind == "market_close"
