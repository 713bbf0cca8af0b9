"""Properties over random stock plans and random, gappy chains.

Whatever the chain holds: a selected contract is in it, inside the DTE window of
its phase, with a positive bid and ask; the premium stop of these long options is
below the entry premium; the stock stop keeps its gap from the entry zone; the
loss at the stop fits the budget; and a plan that cannot be made says why.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from planner.builder import build_plan
from planner.contracts import ContractType, OptionChain, OptionContract
from planner.contracts_validation import choice_of, validate_contract
from planner.messages import MarketSnapshot, TradePlan
from planner.options import plan_with_options
from planner.options_expiry import days_to_expiry, expiry_window
from planner.parts import Style, TradeDirection
from planner.sizing import FRACTION
from planner.validation import plan_problems
from tests.unit.planner.options_factories import NOW, OPTIONS, TODAY, occ
from tests.unit.planner.planner_factories import CONFIG, account, macro, snap, tech, wild

STYLES: list[Style] = ["SCALP", "DAY", "SWING", "INVESTMENT"]
DAYS = [0, 1, 2, 3, 5, 7, 9, 14, 21, 30, 44, 60, 75]


@st.composite
def requests(draw: st.DrawFn) -> tuple[TradePlan, MarketSnapshot]:
    price = draw(st.floats(5, 1000))
    atr = price * draw(st.floats(0.005, 0.05))
    direction: TradeDirection = draw(st.sampled_from(["LONG", "SHORT"]))
    style: Style = draw(st.sampled_from(STYLES))
    below = [price - atr * draw(st.floats(0.05, 4)) for _ in range(2)]
    above = [price + atr * draw(st.floats(0.05, 4)) for _ in range(2)]
    market = snap(price, hod=max(above) + atr * 0.1, lod=max(0.01, min(below) - atr * 0.1),
                  atr=atr, vwap=None)
    plan = build_plan(tech(direction, supports=[b for b in below if b > 0], resistances=above),
                      macro(direction), wild(), market, account(draw(st.floats(2e3, 1e6))),
                      style, NOW, CONFIG)
    assume(plan.decision == "TRADE")
    return plan, market


@st.composite
def contracts(draw: st.DrawFn, price: float, expiries: list[int]) -> OptionContract:
    """Mostly plausible contracts, with one gap or flaw in a few."""
    kind: ContractType = draw(st.sampled_from(["call", "put"]))
    days = draw(st.sampled_from(expiries))
    strike = round(price * draw(st.floats(0.9, 1.1)), 2)
    flaw = draw(st.sampled_from(["none"] * 6 + ["no_greeks", "no_bid", "zero_bid", "crossed",
                                                "thin", "extreme"]))
    delta = draw(st.floats(0.02, 0.98) if flaw == "extreme" else st.floats(0.2, 0.8))
    bid = {"no_bid": None, "zero_bid": 0.0}.get(flaw, draw(st.floats(0.05, price * 0.1)))
    ask = None if bid is None else bid * draw(st.floats(1.0, 1.4)) + 0.01
    if flaw == "crossed" and bid is not None:
        ask = bid * 0.9
    greeks = flaw != "no_greeks"
    return OptionContract(
        symbol=occ("AAPL", TODAY + timedelta(days=days), kind, strike), underlying="AAPL",
        contract_type=kind, expiration=(TODAY + timedelta(days=days)).isoformat(), strike=strike,
        shares_per_contract=draw(st.sampled_from([100.0, 100.0, 10.0, 150.0])),
        delta=(delta if kind == "call" else -delta) if greeks else None,
        gamma=draw(st.floats(0, 0.3)) if greeks else None,
        theta=draw(st.floats(-3, 0)) if greeks else None, bid=bid, ask=ask,
        volume=draw(st.floats(0, 50)) if flaw == "thin" else draw(st.floats(100, 1e5)),
        open_interest=draw(st.floats(0, 90)) if flaw == "thin" else draw(st.floats(500, 1e6)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[TradePlan, MarketSnapshot, OptionChain]:
    plan, market = draw(requests())
    expiries = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=6, unique=True))
    found = draw(st.lists(contracts(market.price, expiries), min_size=4, max_size=40,
                          unique_by=lambda c: c.symbol))
    return plan, market, OptionChain(underlying="AAPL", contracts=found)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_options_plans_keep_every_promise(case: tuple[TradePlan, MarketSnapshot,
                                                      OptionChain]) -> None:
    stock, market, chain = case
    plan = plan_with_options(stock, chain, market, NOW, OPTIONS)
    assert plan_problems(plan) == []
    assert msgspec.json.decode(msgspec.json.encode(plan), type=TradePlan) == plan
    block = plan.options
    assert block is not None
    event(f"{block.status} {block.phase or ''}")
    if plan.decision == "NO_TRADE":
        assert block.status in ("NO_CONTRACT", "REJECTED") and plan.no_trade_reasons
        assert block.reason == plan.no_trade_reasons[0]
        return
    by_symbol = {c.symbol: c for c in chain.contracts}
    chosen = by_symbol[block.symbol or ""]  # always in the chain
    assert validate_contract(choice_of(chosen), chain).ok
    assert chosen.bid is not None and chosen.ask is not None and chosen.bid > 0 < chosen.ask
    window = expiry_window(stock.style, "AAPL", days_to_expiry(
        (c.expiration for c in chain.contracts), TODAY), NOW, OPTIONS)
    assert chosen.expiration in window.expirations and block.dte is not None
    assert window.low <= block.dte <= window.high
    _assert_stops(plan, market)


def _assert_stops(plan: TradePlan, market: MarketSnapshot) -> None:
    block, stop, entry, position = plan.options, plan.stop_loss, plan.entry, plan.position
    assert block is not None and stop is not None and entry is not None and position is not None
    premium, zone = block.entry_premium, entry.zone
    assert premium is not None
    assert stop.price_range.low <= stop.price_range.high < premium.low <= premium.high
    stock = stop.stock_price_range
    assert stock is not None
    gap = OPTIONS.stops.min_gap_atr * market.atr_30d - 1e-9
    if plan.direction == "LONG":
        assert stock.high <= zone.low - gap
    else:
        assert stock.low >= zone.high + gap
    budget = position.risk_budget * float(FRACTION[position.size])
    assert block.contracts >= 1 and position.quantity == block.contracts
    assert stop.total_loss == position.max_risk <= budget + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_validation_accepts_a_sound_chain_contract_and_refuses_a_made_up_one(
        data: st.DataObject) -> None:
    found = data.draw(st.lists(contracts(100.0, DAYS), min_size=1, max_size=20,
                               unique_by=lambda c: c.symbol))
    chain = OptionChain(underlying="AAPL", contracts=found)
    pick = data.draw(st.sampled_from(found))
    sound = (pick.bid or 0) > 0 and (pick.ask or 0) > 0
    assert validate_contract(choice_of(pick), chain).ok == sound
    made_up = msgspec.structs.replace(choice_of(pick), symbol=pick.symbol + "X")
    assert not validate_contract(made_up, chain).ok
