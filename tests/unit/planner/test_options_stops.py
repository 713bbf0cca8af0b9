"""Option stops where "stock level is king", worked by hand, and the contract count.

The AAPL call has ask $2.10 and delta 0.50 at a stock price of $100, so a
premium at stock price S is 2.10 + (S − 100) × 0.50 to first order.
"""

from __future__ import annotations

import msgspec
import pytest
from msgspec.structs import replace

from planner.contracts import OptionContract
from planner.messages import TradePlan
from planner.options import plan_with_options
from planner.options_stops import stock_stop
from planner.parts import EntryZone, Range, Style
from tests.unit.planner.options_factories import NOW, OPTIONS, chain, opt, snap, stock_plan


def priced(plan: TradePlan, *contracts: OptionContract) -> TradePlan:
    out = plan_with_options(plan, chain(*contracts), snap(), NOW, OPTIONS)
    assert out.decision == "TRADE", out.no_trade_reasons
    return out


def test_day_long_call_by_hand() -> None:
    plan = priced(stock_plan("LONG", "DAY"), opt(100))
    stop, block, position = plan.stop_loss, plan.options, plan.position
    assert stop is not None and block is not None and position is not None
    assert stop.stock_price_range == Range(low=98.6, high=98.8)  # the stock plan's own stop
    assert stop.price_range == Range(low=1.40, high=1.50)  # 2.10 − 1.40 × 0.5, 2.10 − 1.20 × 0.5
    assert block.entry_premium == Range(low=1.85, high=1.95)  # at $99.50 and $99.70
    assert block.premium_risk_per_contract == 55.0  # (99.70 − 98.60) × 0.5 × 100
    assert (block.contracts, stop.total_loss, stop.stop_auto_shifted) == (18, 990.0, False)
    assert (position.quantity, position.unit, position.max_risk) == (18.0, "contracts", 990.0)
    # one entry price for every figure: the premium at the worst fill, $1.95
    assert (position.total_cost, position.stop_distance) == (3510.0, 55.0)  # 18 × 1.95 × 100
    assert (position.entry_price, position.size_limit) == (1.95, "risk budget")
    assert block.premium_targets == [Range(low=3.05, high=3.10), Range(low=3.55, high=3.60)]
    assert stop.rationale.startswith(
        "Stop below $98.80 on AAPL: the stock level decides the exit (from the stock plan: "
        "stop below $99.00 (S): ")
    assert stop.rationale.endswith("Premium stop $1.40–$1.50 follows from it: premium change = "
                                   "stock change × delta 0.50")


def test_the_output_has_the_seeds_stop_loss_shape() -> None:
    stop = msgspec.to_builtins(priced(stock_plan(), opt(100)))["stop_loss"]
    assert stop["stock_price_range"] == {"low": 98.6, "high": 98.8}
    assert stop["price_range"] == {"low": 1.4, "high": 1.5}
    assert stop["rationale"].startswith("Stop below $98.80")
    assert stop["total_loss"] == 990.0


def test_swing_takes_two_days_of_theta_off_the_premium_stop() -> None:
    plan = priced(stock_plan("LONG", "SWING"), opt(100, days=14, theta=-0.05))
    assert plan.stop_loss is not None and plan.options is not None
    assert plan.stop_loss.stock_price_range == Range(low=98.2, high=98.6)
    assert plan.stop_loss.price_range == Range(low=1.10, high=1.30)  # 1.20, 1.40 less 0.10
    assert plan.options.premium_risk_per_contract == 95.0  # 1.7 × 0.5 + 0.10, × 100
    assert "less $0.10 of theta as a SWING buffer against time decay" \
        in plan.stop_loss.rationale


@pytest.mark.parametrize("style", ["DAY", "INVESTMENT"])
def test_other_styles_take_no_theta_buffer(style: Style) -> None:
    days = 7 if style == "DAY" else 44
    plan = priced(stock_plan("LONG", style), opt(100, days=days, theta=-0.05))
    assert plan.stop_loss is not None and "theta" not in plan.stop_loss.rationale


def test_day_short_put_mirrors_it() -> None:
    plan = priced(stock_plan("SHORT", "DAY"), opt(100, kind="put"))
    stop, block = plan.stop_loss, plan.options
    assert stop is not None and block is not None
    assert stop.stock_price_range == Range(low=102.2, high=102.4)
    assert block.entry_premium == Range(low=2.00, high=2.10)
    assert stop.price_range == Range(low=0.90, high=1.00)
    assert (block.premium_risk_per_contract, block.contracts, stop.total_loss) == (120.0, 8, 960.0)
    assert stop.rationale.startswith("Stop above $102.20 on AAPL")


def test_a_stop_too_near_the_entry_zone_is_shifted_away_and_flagged() -> None:
    base = stock_plan("LONG", "DAY")
    assert base.stop_loss is not None
    near = replace(base, stop_loss=replace(base.stop_loss, price_range=Range(low=99.0, high=99.2)))
    plan = priced(near, opt(100))
    assert plan.stop_loss is not None
    assert plan.stop_loss.stop_auto_shifted
    assert plan.stop_loss.stock_price_range == Range(low=98.8, high=99.0)  # 0.5 = 0.25 × $2 ATR
    assert "; moved from $99.20 to keep 0.25× ATR from the entry zone" in plan.stop_loss.rationale
    assert plan.stop_loss.rationale.startswith("Stop below $99.00 on AAPL")


def test_a_short_stop_shifts_up() -> None:
    zone = EntryZone(low=100.0, mid=100.1, high=100.2, confidence=90)
    moved = stock_stop("SHORT", zone, Range(low=100.4, high=100.6), 2.0, 0.25, 0.01)
    assert moved is not None and moved.shifted and moved.moved_from == 100.4
    assert moved.price_range == Range(low=100.7, high=100.9)
    kept = stock_stop("SHORT", zone, Range(low=101.0, high=101.2), 2.0, 0.25, 0.01)
    assert kept is not None and not kept.shifted


def test_no_room_for_the_gap_above_zero_is_refused() -> None:
    zone = EntryZone(low=0.6, mid=0.65, high=0.7, confidence=90)
    assert stock_stop("LONG", zone, Range(low=0.5, high=0.55), 4.0, 0.25, 0.01) is None


@pytest.mark.parametrize(("shares", "count", "risk"), [(100, 18, 990.0), (10, 181, 995.5),
                                                       (150, 12, 990.0)])
def test_the_count_uses_shares_per_contract(shares: float, count: int, risk: float) -> None:
    plan = priced(stock_plan(), opt(100, shares=shares))
    assert plan.options is not None and plan.stop_loss is not None
    assert (plan.options.contracts, plan.stop_loss.total_loss) == (count, risk)


def test_the_premium_cap_and_the_open_interest_cap_bound_the_count() -> None:
    dear = priced(stock_plan(), opt(100, bid=149.0, ask=150.0)).options
    assert dear is not None and dear.contracts == 1  # $14,975 of the $20,000 cap
    assert dear.rationale[0].endswith("(count set by the premium cap)")
    thin = priced(stock_plan(), opt(100, oi=60.0)).options
    assert thin is not None and thin.contracts == 6  # 10% of 60
    assert thin.rationale[0].endswith("(count set by the open interest)")


def test_a_stop_beyond_what_the_option_is_worth_risks_the_whole_premium() -> None:
    cheap = opt(110, bid=0.28, ask=0.30)
    plan = priced(stock_plan(), cheap)
    assert plan.stop_loss is not None and plan.options is not None
    assert plan.stop_loss.price_range == Range(low=0.0, high=0.0)
    # the entry premium at the worst fill, 0.30 − (100 − 99.70) × 0.5 = $0.15, not more
    assert plan.options.premium_risk_per_contract == 15.0
    assert "The premium stop reaches $0.00: a move to the stock stop may cost the whole " \
        "premium" in plan.options.caution_notes


def test_a_long_option_never_risks_more_than_it_costs() -> None:
    """Probe: a 0DTE plan showed max_risk $980 above total_cost $906.50: the risk was capped
    at today's ask while the cost was counted at the middle entry premium."""
    plan = priced(stock_plan("LONG", "SCALP"), opt(110, days=0, bid=0.28, ask=0.30))
    position, block = plan.position, plan.options
    assert position is not None and block is not None and block.entry_premium is not None
    assert block.true_0dte
    # the SCALP zone tops at $99.60: 0.30 − 0.40 × 0.5 = $0.10 a share is what it costs
    assert position.entry_price == block.entry_premium.high == 0.10
    assert position.total_cost == round(position.quantity * 0.10 * 100, 2)
    assert position.max_risk <= position.total_cost
    assert position.size_reason.endswith("contracts set by the " + str(position.size_limit))


def test_the_stock_share_cap_note_does_not_follow_an_options_plan() -> None:
    stock = stock_plan()
    assert any(w.startswith("Size capped by the notional cap") for w in stock.warnings)
    plan = priced(stock, opt(100))
    assert not any(w.startswith("Size capped") for w in plan.warnings)
    assert plan.position is not None and "quantity set by" not in plan.position.size_reason
