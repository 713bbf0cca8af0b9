"""The three search phases, NO TRADE when all fail, and the ranking by the five criteria.

The stock plan is the DAY LONG on AAPL at $100 (entry $99.50–$99.70, stop
$98.60–$98.80, budget $1,000), so calls expiring in 3 to 7 days are wanted.
"""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from planner.contracts import OptionChain, OptionContract
from planner.messages import TradePlan
from planner.options import plan_with_options
from planner.options_config import OptionsConfig
from tests.unit.planner.options_factories import NOW, OPTIONS, chain, opt, snap, stock_plan


def options_plan(*contracts: OptionContract, cfg: OptionsConfig = OPTIONS,
                 size: float = 100_000.0) -> TradePlan:
    return plan_with_options(stock_plan(size=size), chain(*contracts), snap(), NOW, cfg)


def chosen(plan: TradePlan) -> str | None:
    assert plan.options is not None
    return plan.options.symbol


def test_primary_takes_the_sweet_spot_over_a_contract_only_the_expanded_search_accepts() -> None:
    sweet, wide = opt(100, delta=0.5), opt(105, delta=0.3, volume=5000)
    plan = options_plan(wide, sweet)
    assert plan.decision == "TRADE" and plan.options is not None
    assert (plan.options.symbol, plan.options.phase) == (sweet.symbol, "primary")
    assert plan.options.caution_notes == []
    assert plan.options.search[1].startswith(
        "primary (delta 0.40–0.60, volume ≥ 100, open interest ≥ 500, spread ≤ 10%): "
        "1 of 2 passed; left out: delta outside band 1")


@pytest.mark.parametrize("thin", [
    {"delta": 0.3}, {"delta": 0.7}, {"volume": 50.0}, {"oi": 200.0}, {"bid": 1.8, "ask": 2.1},
])
def test_expanded_relaxes_delta_liquidity_and_spread(thin: dict[str, Any]) -> None:
    contract = opt(100, **thin)
    plan = options_plan(contract)
    assert plan.options is not None and plan.options.phase == "expanded"
    assert "Found by the expanded search: no contract met the primary criteria" \
        in plan.options.caution_notes


@pytest.mark.parametrize("extreme", [0.1, 0.2, 0.8, 0.95])
def test_extremes_stay_out_of_every_phase(extreme: float) -> None:
    plan = options_plan(opt(100, delta=extreme))
    assert plan.decision == "NO_TRADE" and plan.options is not None
    assert plan.options.status == "NO_CONTRACT"
    assert "delta extreme 1" in plan.options.search[3]


def test_fallback_accepts_valid_pricing_without_greeks_with_caution_notes() -> None:
    bare = opt(101, delta=None, theta=None, gamma=None, volume=None, oi=None,
               missing=["greeks", "day", "open_interest"])
    plan = options_plan(bare)
    assert plan.decision == "TRADE" and plan.options is not None
    block = plan.options
    assert (block.symbol, block.phase) == (bare.symbol, "fallback")
    assert block.greeks is not None and block.greeks.delta is None
    assert block.premium_targets == []
    notes = "\n".join(block.caution_notes)
    assert "Found by the fallback search: no contract met the expanded criteria" in notes
    assert "Greeks missing: the premium stop assumes |delta| 1" in notes
    assert "Vendor data missing for this contract: greeks, day, open_interest" in notes
    assert plan.stop_loss is not None
    assert "delta 1.00 (assumed: greeks missing)" in plan.stop_loss.rationale


def test_fallback_refuses_a_contract_without_greeks_far_from_the_stock() -> None:
    plan = options_plan(opt(120, delta=None, theta=None))
    assert plan.decision == "NO_TRADE" and plan.options is not None
    assert "no delta, strike far from the stock 1" in plan.options.search[3]


def test_no_trade_when_every_phase_fails_with_the_search_in_the_block() -> None:
    plan = options_plan(opt(100, bid=0.0), opt(102, bid=None, ask=None), opt(98, delta=0.05))
    assert plan.decision == "NO_TRADE" and plan.position is None and plan.stop_loss is None
    assert plan.no_trade_reasons == [
        "No suitable options contract: every search phase came back empty"]
    assert plan.options is not None and plan.options.status == "NO_CONTRACT"
    assert plan.options.symbol is None
    search = plan.options.search
    assert search[0] == "3 calls in the window (DAY: 3–7 DTE) of 3 contracts"
    assert [line.split(" (")[0] for line in search[1:]] == ["primary", "expanded", "fallback"]
    assert search[3].endswith("0 of 3 passed; left out: no valid bid/ask 2, delta extreme 1")


def test_puts_expiries_outside_the_window_and_other_types_are_not_candidates() -> None:
    plan = options_plan(opt(100, kind="put"), opt(100, days=9), opt(100, days=2))
    assert plan.decision == "NO_TRADE" and plan.options is not None
    assert plan.options.search[0] == "0 calls in the window (DAY: 3–7 DTE) of 3 contracts"


def test_price_is_a_gate_a_contract_must_fit_the_risk_budget() -> None:
    plan = options_plan(opt(100), size=1_000.0)  # $10 budget, $55 at risk per contract
    assert plan.decision == "NO_TRADE" and plan.options is not None
    assert "does not fit the risk budget 1" in plan.options.search[1]


def test_a_shorter_dte_in_the_window_is_as_good_as_a_longer_one() -> None:
    plan = options_plan(opt(100, days=3), opt(100, days=7, volume=900))
    assert plan.options is not None and plan.options.dte == 3


@pytest.mark.parametrize(("better", "worse"), [
    ({"volume": 2000.0}, {"volume": 1000.0}),
    ({"theta": -0.04}, {"theta": -0.06}),
    ({"delta": 0.48}, {"delta": 0.58}),
    ({"oi": 9000.0}, {"oi": 3000.0}),
], ids=["volume", "theta", "delta", "open_interest"])
def test_each_criterion_decides_when_the_others_are_equal(
        better: dict[str, Any], worse: dict[str, Any]) -> None:
    good, bad = opt(101, **better), opt(99, **worse)
    assert chosen(options_plan(bad, good)) == good.symbol


def test_a_full_lead_in_a_higher_criterion_beats_one_in_a_lower_criterion() -> None:
    busy = opt(101, volume=10_000.0, theta=-0.10)
    quiet = opt(99, volume=1.0, theta=-0.05)
    primary = replace(OPTIONS.phases.primary, min_volume=0, min_open_interest=0)
    loose = replace(OPTIONS, phases=replace(OPTIONS.phases, primary=primary))
    assert chosen(options_plan(quiet, busy, cfg=loose)) == busy.symbol
    fresh, decaying = opt(101, theta=-0.02, delta=0.45), opt(99, theta=-0.2, delta=0.5)
    assert chosen(options_plan(decaying, fresh)) == fresh.symbol


def test_the_rationale_has_one_line_per_criterion_in_priority_order() -> None:
    plan = options_plan(opt(100), opt(101, volume=400))
    assert plan.options is not None
    lines = plan.options.rationale
    assert [line[:3] for line in lines] == ["1. ", "2. ", "3. ", "4. ", "5. "]
    assert lines[0] == ("1. Price: ask $2.10 ($210.00 per contract); 18 contracts risk $990.00 "
                        "at the stop, within the $1,000.00 budget (count set by the risk budget)")
    assert lines[1] == "2. Volume: 1,000 today (best of 2: 1,000)"
    assert lines[2] == "3. Theta: -0.050 per day ($5.00 per contract; lowest of 2: 0.050)"
    assert lines[3] == "4. Delta: +0.50, 0.00 from the balanced 0.50"
    assert lines[4] == "5. Open interest: 5,000; 18 contracts are 0.4% of it"


def test_an_empty_chain_is_no_trade_naming_the_window() -> None:
    plan = plan_with_options(stock_plan(), OptionChain(underlying="AAPL"), snap(), NOW, OPTIONS)
    assert plan.no_trade_reasons == [
        "No suitable options contract: no expiry 3–7 days out in the chain (it lists none that "
        "still trade)"]
