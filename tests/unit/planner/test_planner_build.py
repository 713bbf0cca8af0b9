"""``build_plan`` end to end: two worked plans, a NO TRADE, and plans from analyzers alone."""

from __future__ import annotations

import math

import msgspec
import pytest

from planner import (
    CrossAssetSnapshot,
    EventCalendar,
    TradePlan,
    analyze_macro,
    analyze_technical,
    analyze_wildcard,
    build_plan,
    make_snapshot,
    plan_schema,
)
from planner.config import PlannerConfig
from planner.parts import Bar
from planner.validation import plan_problems
from tests.unit.planner.planner_factories import (
    CONFIG,
    NOW,
    account,
    macro,
    snap,
    tech,
    wild,
)


def test_stock_day_long_worked_by_hand() -> None:
    """Tech LONG 70 + Macro LONG 60 on AAPL at $100, ATR $2, VWAP $99.50, account $100k, 1 %."""
    plan = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW, CONFIG)
    assert plan_problems(plan) == []
    assert (plan.decision, plan.direction, plan.confidence) == ("TRADE", "LONG", 80)  # 70 + 10
    assert plan.entry is not None and plan.position is not None and plan.stop_loss is not None
    # VWAP $99.50 is the nearest support within 0.5 ATR: zone 99.50 .. 99.50 + 0.1·2
    zone = plan.entry.zone
    assert (zone.low, zone.mid, zone.high) == pytest.approx((99.50, 99.60, 99.70))
    assert plan.entry.trigger == "Buy in $99.50–$99.70 at support $99.50 (VWAP)"
    # stop 0.1·2 = 0.20 under S $99.00, a range of one buffer
    assert (plan.stop_loss.price_range.low, plan.stop_loss.price_range.high) == \
        pytest.approx((98.60, 98.80))
    # every figure at the worst fill $99.70: the risk budget buys 1,000 / (99.70 − 98.60)
    # = 909 shares, but the DAY notional cap (25% of $100,000) buys 25,000 / 99.70 = 250
    assert (plan.position.size, plan.position.quantity) == ("full", 250)
    assert (plan.position.entry_price, plan.position.size_limit) == (99.70, "notional cap")
    assert plan.position.max_risk == plan.stop_loss.total_loss == 275.00  # 250 · 1.10
    assert plan.position.total_cost == 24_925.00  # 250 · 99.70
    assert ("Size capped by the notional cap: 250 shares at $99.70 cost $24,925.00, within 25% "
            "of the $100,000.00 account, and risk $275.00 at the stop; the full risk budget of "
            "$1,000.00 alone would buy 909") in plan.warnings
    # TP1 at R $102, TP2 at the HOD $103 (the next level, R $104, lies beyond)
    assert [t.price_range.low for t in plan.targets] == pytest.approx([101.9, 102.9])
    assert [t.price_range.high for t in plan.targets] == pytest.approx([102.0, 103.0])
    # TP1's chance is the confidence range; TP2's is 0.5^(1.00 / 2 / 2) of it: 61–73
    assert [(t.probability.low, t.probability.high) for t in plan.targets] == [(73, 87),
                                                                              (61, 73)]
    assert plan.target_warning == ("TP1 is 1.2x ATR from entry (threshold: 1.0x) — verify "
                                   "achievable in DAY timeframe")
    assert plan.time_stop is not None and plan.time_stop.text.startswith("Close by 4:00 PM ET")
    assert plan.chase is not None and plan.chase.status == "CLEAR"
    assert (plan.confidence_range.low, plan.confidence_range.high) == (73, 87)  # ± 5 + 10/5
    assert plan.confidence_explanation == (
        "80% confidence means Technical and Macro align on LONG with strong conviction: an "
        "80% chance (73–87%) that price reaches TP1 before the stop. There's a 20% chance the "
        "trade fails due to unexpected news or failed support.")


def test_stock_day_long_sized_by_the_risk_budget_when_the_cap_allows() -> None:
    """With the notional cap at 100 %, the seed's formula sets the size: 909 shares."""
    raw = msgspec.to_builtins(CONFIG)
    raw["styles"]["DAY"]["notional_cap_pct"] = 100
    plan = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW,
                      msgspec.convert(raw, PlannerConfig))
    assert plan.position is not None
    assert (plan.position.quantity, plan.position.size_limit) == (909, "risk budget")
    assert plan.position.max_risk == 999.90  # 909 · 1.10
    assert plan.position.total_cost == 90_627.30  # 909 · 99.70, the same price as the risk
    assert not any(w.startswith("Size capped") for w in plan.warnings)


def test_crypto_scalp_short_worked_by_hand() -> None:
    technical = tech("SHORT", 75, symbol="BTCUSDT", entry_type="rejection",
                     supports=(59_500, 59_000), resistances=(60_200, 60_600))
    market = snap(60_000, hod=61_000, lod=59_000, atr=1_500, vwap=60_100,
                  asset_class="crypto", symbol="BTCUSDT")
    plan = build_plan(technical, macro("SHORT", 65), wild(symbol="BTCUSDT"), market,
                      account(10_000), "SCALP", NOW, CONFIG)
    assert plan_problems(plan) == []
    assert (plan.decision, plan.direction, plan.confidence) == ("TRADE", "SHORT", 85)
    assert plan.entry is not None and plan.position is not None and plan.stop_loss is not None
    # VWAP $60,100 is the nearest resistance within 0.25 ATR: zone 60,100 − 0.05·1,500 .. 60,100
    assert (plan.entry.zone.low, plan.entry.zone.high) == pytest.approx((60_025, 60_100))
    assert plan.entry.strategy == "short the rejection"
    # stop 0.05·1,500 = 75 over R $60,200
    assert (plan.stop_loss.price_range.low, plan.stop_loss.price_range.high) == \
        pytest.approx((60_275, 60_350))
    assert [t.price_range.low for t in plan.targets] == pytest.approx([59_500, 59_000])
    assert [t.price_range.high for t in plan.targets] == pytest.approx([59_545, 59_045])
    # worst fill $60,025 to the far stop $60,350: 325 a coin; risk allows 100 / 325 = 0.30769
    # BTC, but the SCALP cap of 25% of $10,000 buys only 2,500 / 60,100 = 0.04159 (checked at
    # the zone's top, the dearest fill)
    assert (plan.position.quantity, plan.position.unit) == (0.04159, "coins")
    assert plan.position.max_risk == 13.52  # 0.04159 · 325 = 13.517 → up to the cent
    assert plan.position.total_cost == 2_496.44  # 0.04159 · 60,025
    assert plan.position.size_limit == "notional cap"
    assert plan.time_stop is not None
    assert plan.time_stop.text == ("Close within 15-30 minutes if neither the stop nor a "
                                   "target is hit")
    assert plan.target_warning is None  # TP1 0.36 ATR away, threshold 0.5
    assert "conditions aligned" in plan.flags.short_safety[0]


def test_no_trade_when_both_agents_are_neutral() -> None:
    plan = build_plan(tech("NEUTRAL", 30), macro("NEUTRAL", 35), wild(), snap(), account(),
                      "DAY", NOW, CONFIG)
    assert plan.decision == "NO_TRADE"
    assert plan.no_trade_reasons == ["Both say NEUTRAL with <40% confidence each: No Trade"]
    assert plan_problems(plan) == []


def test_plan_json_uses_the_seed_names_and_round_trips() -> None:
    plan = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW, CONFIG)
    raw = msgspec.json.decode(msgspec.json.encode(plan))
    for key in ("decision", "direction", "confidence", "confidence_explanation", "warnings",
                "synthesis", "entry", "position", "stop_loss", "targets", "time_stop",
                "target_warning", "chase"):
        assert key in raw, key
    assert {"size", "quantity", "total_cost", "max_risk"} <= raw["position"].keys()
    assert {"price_range", "rationale", "total_loss"} <= raw["stop_loss"].keys()
    assert {"low", "mid", "high", "confidence"} <= raw["entry"]["zone"].keys()
    assert raw["type"] == "trade_plan"
    assert msgspec.json.decode(msgspec.json.encode(plan), type=TradePlan) == plan
    assert TradePlan.topic == "plan.trade"


def test_schema_describes_the_plan() -> None:
    schema = plan_schema()
    assert schema["$ref"] == "#/$defs/TradePlan"
    assert "stop_loss" in schema["$defs"]["TradePlan"]["properties"]  # type: ignore[index]


def _waves(n: int, drift: float, start: float = 100.0) -> list[Bar]:
    bars = []
    for i in range(n):
        close = start + drift * i + 0.6 * math.sin(i / 2)
        open_ = close - drift - 0.6 * (math.sin(i / 2) - math.sin((i - 1) / 2))
        bars.append(Bar(ts=NOW - 60 * (n - i), open=open_, close=close,
                        high=max(open_, close) + 0.05, low=min(open_, close) - 0.05,
                        volume=1_000 + 10 * i))
    return bars


@pytest.mark.parametrize(("drift", "direction"), [(0.08, "LONG"), (-0.08, "SHORT")])
def test_plans_from_the_built_in_analyzers_alone(drift: float, direction: str) -> None:
    bars = _waves(120, drift)
    market = make_snapshot("AAPL", bars, asset_class="stock", atr_30d=3.0, prev_close=bars[0].open)
    technical = analyze_technical("AAPL", bars, NOW, CONFIG.technical)
    index = [400 + 40 * drift * i for i in range(60)]
    macro_verdict = analyze_macro(CrossAssetSnapshot(ts=NOW, index_closes=index, vix=18.0),
                                  "stock", CONFIG.macro)
    wildcard = analyze_wildcard(market, "DAY", EventCalendar(), NOW, CONFIG.wildcard)
    plan = build_plan(technical, macro_verdict, wildcard, market, account(), "DAY", NOW, CONFIG)
    assert technical.direction == direction
    assert plan.decision == "TRADE" and plan.direction == direction
    assert plan_problems(plan) == []
    assert plan.synthesis is not None and plan.synthesis.agreement == "agree"


def test_planner_messages_join_the_system_union() -> None:
    """Tags are unique, so one decoder over the planner's union and the link's bus messages
    works. (``trade_plan`` is on the link too, by design: bots read the planner's plan
    through ``bus.protocol.TradePlanReply``, which is not a bus message.)"""
    from bus.protocol import BotToKernel, Command, Error, OrderDecision, Welcome
    from planner.messages import PlannerMessage

    decoder = msgspec.msgpack.Decoder(
        PlannerMessage | BotToKernel | Welcome | OrderDecision | Command | Error)
    plan = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW, CONFIG)
    for message in (plan, tech(), macro(), wild(), snap()):
        assert decoder.decode(msgspec.msgpack.encode(message)) == message
