"""Properties over random requests: no plan contradicts itself or breaks a risk rule."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.builder import build_plan
from planner.config import RiskConfig
from planner.messages import (
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    TradePlan,
    WildCardVerdict,
)
from planner.parts import (
    Account,
    AssetClass,
    Bar,
    Level,
    Risk,
    Severity,
    Style,
)
from planner.sizing import Sized, choose_tier, size_position
from planner.time_stops import mentions_market_close
from planner.validation import plan_problems
from tests.unit.planner.planner_factories import CONFIG, NOW

ASSETS: list[AssetClass] = ["stock", "index_etf", "crypto"]
SEVERITIES: list[Severity] = ["low", "medium", "high", "critical"]
STYLES: list[Style] = ["SCALP", "DAY", "SWING", "INVESTMENT"]
ENTRY_WORDS = ["buy_support", "breakout_retest", "pullback_buy", "rejection",
               "short_resistance", "breakdown_retest", "rally_short", "none", "breakout"]


class Request(msgspec.Struct, frozen=True):
    technical: TechnicalVerdict
    macro: MacroVerdict
    wildcard: WildCardVerdict
    snapshot: MarketSnapshot
    account: Account
    style: Style


@st.composite
def requests(draw: st.DrawFn) -> Request:
    price = draw(st.floats(0.05, 80_000))
    atr = price * draw(st.floats(0.002, 0.25))
    asset = draw(st.sampled_from(ASSETS))
    symbol = "BTCUSDT" if asset == "crypto" else "AAPL"

    def levels() -> list[Level]:
        offsets = draw(st.lists(st.floats(-5, 5), max_size=6))
        return [Level(price=price + o * atr) for o in offsets if price + o * atr > 0]

    colours = draw(st.lists(st.sampled_from([-1, 0, 1]), max_size=8))
    bars = [Bar(ts=NOW - 60 * (len(colours) - i), open=price, close=price * (1 + 0.001 * c),
                high=price * 1.002, low=price * 0.997) for i, c in enumerate(colours)]
    technical = TechnicalVerdict(
        symbol=symbol, ts=NOW, direction=draw(st.sampled_from(["LONG", "SHORT", "NEUTRAL"])),
        confidence=draw(st.floats(0, 100)), entry_type=draw(st.sampled_from(ENTRY_WORDS)),
        supports=levels(), resistances=levels(),
        pattern_state=draw(st.sampled_from(["broken", "not_yet_broken", "none"])),
        volatility_regime=draw(st.sampled_from(["low", "normal", "high", "extreme"])))
    macro = MacroVerdict(ts=NOW, regime=draw(st.sampled_from(["risk_on", "risk_off", "neutral"])),
                         direction=draw(st.sampled_from(["LONG", "SHORT", "NEUTRAL"])),
                         confidence=draw(st.floats(0, 100)))
    severities = draw(st.lists(st.sampled_from(SEVERITIES), max_size=3))
    wildcard = WildCardVerdict(symbol=symbol, ts=NOW, risks=[
        Risk(kind="event", description="event", severity=s) for s in severities])
    vwap = draw(st.none() | st.floats(-2, 2))
    snapshot = MarketSnapshot(
        symbol=symbol, ts=NOW, asset_class=asset, price=price, atr_30d=atr,
        hod=price + draw(st.floats(0, 3)) * atr, lod=max(price * 0.01, price - draw(
            st.floats(0, 3)) * atr),
        vwap=None if vwap is None or price + vwap * atr <= 0 else price + vwap * atr,
        bars=bars, market_status=draw(st.sampled_from(["open", "open", "extended", "closed"])))
    account = Account(size=draw(st.floats(50, 10_000_000)),
                      risk_pct=draw(st.none() | st.floats(0.05, 5)))
    style = draw(st.sampled_from(STYLES))
    return Request(technical, macro, wildcard, snapshot, account, style)


def plan_for(req: Request) -> TradePlan:
    return build_plan(req.technical, req.macro, req.wildcard, req.snapshot, req.account,
                      req.style, NOW, CONFIG)


@settings(max_examples=400, deadline=None)
@given(requests())
def test_every_plan_is_consistent_and_a_valid_message(req: Request) -> None:
    """TRADE with confidence 0, quantity 0 or a stop beyond the entry cannot come out."""
    plan = plan_for(req)
    assert plan_problems(plan) == []
    assert msgspec.json.decode(msgspec.json.encode(plan), type=TradePlan) == plan
    assert plan_for(req) == plan  # deterministic


@settings(max_examples=400, deadline=None)
@given(requests())
def test_max_risk_never_exceeds_account_times_risk_pct(req: Request) -> None:
    plan = plan_for(req)
    if plan.decision != "TRADE":
        return
    assert plan.position is not None and plan.entry is not None and plan.stop_loss is not None
    risk_pct = req.account.risk_pct or CONFIG.risk.risk_pct
    ceiling = Decimal(repr(req.account.size)) * Decimal(repr(risk_pct)) / 100
    assert Decimal(repr(plan.position.max_risk)) <= ceiling
    # and the worst fill to the worst stop, exactly
    zone, stop = plan.entry.zone, plan.stop_loss.price_range
    worst = (zone.high - stop.low) if plan.direction == "LONG" else (stop.high - zone.low)
    assert Decimal(repr(plan.position.quantity)) * Decimal(repr(worst)) <= ceiling * Decimal(
        "1.000000001")


@settings(max_examples=400, deadline=None)
@given(requests())
def test_short_above_80_only_with_bearish_macro(req: Request) -> None:
    plan = plan_for(req)
    if plan.decision == "TRADE" and plan.direction == "SHORT" and plan.confidence > 80:
        assert req.macro.regime == "risk_off"


@settings(max_examples=400, deadline=None)
@given(requests())
def test_every_range_obeys_the_caps_the_point_obeys(req: Request) -> None:
    plan = plan_for(req)
    if plan.decision != "TRADE":
        return
    assert plan.confidence_range.high <= CONFIG.synthesis.confidence_cap
    if plan.direction == "SHORT" and req.macro.regime != "risk_off":
        assert plan.confidence_range.high <= CONFIG.short_safety.cap_without_bearish_macro
    if plan.synthesis is not None and plan.synthesis.agreement == "macro_only":
        assert plan.confidence_range.high <= CONFIG.synthesis.macro_only_cap


NO_TRADE_REASONS = ("Both say NEUTRAL", "Market is completely closed", "Critical system error",
                    "Technical is NEUTRAL and Macro's", "Position rounds to zero")
"""The seed's three NO TRADE rules, the rows the seed leaves open (no direction), and a size
that cannot be bought: nothing else, and never a low confidence."""


@settings(max_examples=400, deadline=None)
@given(requests())
def test_no_trade_only_for_the_seeds_reasons(req: Request) -> None:
    plan = plan_for(req)
    assert all(r.startswith(NO_TRADE_REASONS) for r in plan.no_trade_reasons), \
        plan.no_trade_reasons


@settings(max_examples=400, deadline=None)
@given(requests())
def test_the_sentence_and_the_targets_share_one_model(req: Request) -> None:
    plan = plan_for(req)
    if plan.decision != "TRADE":
        return
    fail = round(100 - plan.confidence)
    assert f"There's {'an' if fail in (8, 11, 18) or 80 <= fail <= 89 else 'a'} {fail}% chance " \
        "the trade fails" in plan.confidence_explanation
    assert plan.targets[0].probability == plan.confidence_range


@settings(max_examples=400, deadline=None)
@given(requests())
def test_a_position_costs_at_most_its_styles_notional_cap(req: Request) -> None:
    plan = plan_for(req)
    if plan.decision != "TRADE":
        return
    assert plan.position is not None and plan.entry is not None
    cap = min(CONFIG.style(req.style).notional_cap_pct, CONFIG.risk.max_notional_pct)
    limit = req.account.size * cap / 100
    assert plan.position.quantity * plan.entry.zone.high <= limit * 1.0000001 + 0.01
    capped = any(w.startswith("Size capped by the") for w in plan.warnings)
    assert capped == (plan.position.size_limit != "risk budget")


@settings(max_examples=200, deadline=None)
@given(requests())
def test_crypto_plans_never_speak_of_the_close(req: Request) -> None:
    plan = plan_for(req)
    if plan.asset_class == "crypto" and plan.time_stop is not None:
        assert not mentions_market_close(plan.time_stop.text)


@settings(max_examples=500, deadline=None)
@given(account=st.floats(1, 1e9), risk_pct=st.floats(0.01, 100), entry=st.floats(0.0001, 1e6),
       gap=st.floats(1e-6, 0.5), confidence=st.floats(0, 100), crypto=st.booleans(),
       cap=st.floats(1, 10_000), width=st.floats(0, 0.01))
def test_sizing_never_risks_more_than_the_budget(
    account: float, risk_pct: float, entry: float, gap: float, confidence: float, crypto: bool,
    cap: float, width: float,
) -> None:
    stop = entry * (1 - gap)
    tier, reason = choose_tier(confidence, RiskConfig())
    result = size_position(account=account, risk_pct=risk_pct, entry_price=entry,
                           entry_high=entry * (1 + width), stop_worst=stop, tier=tier,
                           tier_reason=reason, notional_cap_pct=cap, symbol="X",
                           asset_class="crypto" if crypto else "stock", cfg=RiskConfig())
    if isinstance(result, Sized):
        position = result.position
        assert position.quantity > 0
        assert position.max_risk <= position.risk_budget <= account * risk_pct / 100
        limit = min(cap, 100.0) / 100 * account
        assert position.quantity * entry * (1 + width) <= limit * 1.0000001 + 0.01
        assert position.total_cost <= limit * 1.0000001 + 0.01
        assert (result.cap_note is not None) == (position.size_limit != "risk budget")
