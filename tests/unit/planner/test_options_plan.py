"""``plan_with_options`` end to end on the fixture chains, and the plan it returns."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from bus.protocol import TradePlanReply
from kernel.config import ConfigError, load_yaml
from planner.builder import build_plan
from planner.contracts import OptionChain
from planner.messages import TradePlan
from planner.options import plan_with_options, underlying_asset_class
from planner.options_config import OptionsConfig
from planner.parts import Style, TradeDirection
from planner.validation import plan_problems
from tests.unit.planner.options_factories import (
    NOW,
    OPTIONS,
    fixture_chain,
    snap,
    spy_market,
    spy_plan,
    stock_plan,
)
from tests.unit.planner.planner_factories import CONFIG, account, macro, tech, wild

OPTIONS_YAML = Path(__file__).parents[3] / "config" / "options.yaml"
SPY = fixture_chain("spy")
STYLES: list[Style] = ["SCALP", "DAY", "SWING", "INVESTMENT"]


@pytest.mark.parametrize("direction", ["LONG", "SHORT"])
@pytest.mark.parametrize("style", STYLES)
def test_every_spy_plan_gets_a_sound_options_block(style: Style,
                                                   direction: TradeDirection) -> None:
    plan = plan_with_options(spy_plan(direction, style), SPY, spy_market(), NOW, OPTIONS)
    assert plan.decision == "TRADE" and plan_problems(plan) == []
    block = plan.options
    assert block is not None and block.status == "SELECTED" and block.symbol is not None
    assert block.contract_type == ("call" if direction == "LONG" else "put")
    assert block.symbol in {c.symbol for c in SPY.contracts}
    assert block.quote is not None and block.quote.bid > 0 and block.quote.ask > 0
    assert block.greeks is not None and len(block.rationale) == 5
    assert block.contracts >= 1 and plan.position is not None
    assert plan.position.max_risk <= plan.position.risk_budget
    low, high = OPTIONS.dte.of(style)
    assert block.dte is not None and low <= block.dte <= high
    assert msgspec.json.decode(msgspec.json.encode(plan), type=TradePlan) == plan


def test_a_spy_scalp_takes_todays_expiry() -> None:
    block = plan_with_options(spy_plan("LONG", "SCALP"), SPY, spy_market(), NOW, OPTIONS).options
    assert block is not None and block.true_0dte and block.dte == 0
    assert block.expiration == "2026-02-04"
    assert block.expiry_label == "0DTE: expires today (2026-02-04) at the close"


def test_an_aapl_scalp_on_wednesday_is_labelled_not_0dte() -> None:
    market = snap(232.5, hod=234.0, lod=230.0, atr=4.0, vwap=232.0)
    plan = build_plan(tech("LONG", supports=(231.0, 229.0), resistances=(235.0, 237.0)),
                      macro("LONG"), wild(), market, account(), "SCALP", NOW, CONFIG)
    out = plan_with_options(plan, fixture_chain("aapl"), market, NOW, OPTIONS)
    assert out.options is not None and not out.options.true_0dte
    assert out.options.expiration == "2026-02-06"
    label = ("Nearest expiry 2026-02-06 (2 DTE), not a true 0DTE: AAPL is a single stock, whose "
             "same-day expiries come only on Fridays (next: 2026-02-06)")
    assert out.options.expiry_label == label and label in out.options.caution_notes


def test_an_aapl_day_trade_on_wednesday_has_no_expiry_in_its_window() -> None:
    market = snap(232.5, hod=234.0, lod=230.0, atr=4.0, vwap=232.0)
    plan = build_plan(tech("LONG", supports=(231.0, 229.0), resistances=(235.0, 237.0)),
                      macro("LONG"), wild(), market, account(), "DAY", NOW, CONFIG)
    out = plan_with_options(plan, fixture_chain("aapl"), market, NOW, OPTIONS)
    assert out.decision == "NO_TRADE"
    assert out.no_trade_reasons == ["No suitable options contract: no expiry 3–7 days out in "
                                    "the chain (it lists 4 expiries, 2–44 days out)"]


def test_an_options_plan_reaches_a_bot_through_the_link_view() -> None:
    plan = plan_with_options(spy_plan(), SPY, spy_market(), NOW, OPTIONS)
    reply = msgspec.json.decode(msgspec.json.encode(plan), type=TradePlanReply)
    assert reply.position is not None and reply.position["unit"] == "contracts"
    assert reply.stop_loss is not None and "stock_price_range" in reply.stop_loss


def test_a_no_trade_stock_plan_is_returned_unchanged() -> None:
    plan = build_plan(tech("NEUTRAL", 20), macro("NEUTRAL", 20), wild(), snap(), account(),
                      "DAY", NOW, CONFIG)
    assert plan_with_options(plan, SPY, snap(), NOW, OPTIONS) is plan


def test_a_chain_of_another_underlying_is_refused() -> None:
    out = plan_with_options(stock_plan(), SPY, snap(), NOW, OPTIONS)
    assert out.decision == "NO_TRADE" and out.options is not None
    assert out.no_trade_reasons == ["Critical system error: invalid input: the option chain is "
                                    "for SPY, the plan for AAPL"]


def test_crypto_gets_no_options() -> None:
    market = snap(60_000.0, hod=61_000, lod=59_000, atr=1_500, vwap=59_900, symbol="BTCUSDT",
                  asset_class="crypto")
    plan = build_plan(tech("LONG", symbol="BTCUSDT", supports=(59_500,), resistances=(62_000,)),
                      macro("LONG"), wild(symbol="BTCUSDT"), market, account(), "DAY", NOW,
                      CONFIG)
    out = plan_with_options(plan, OptionChain(underlying="BTCUSDT"), market, NOW, OPTIONS)
    assert out.no_trade_reasons == ["Options are planned for stocks and index ETFs, not crypto"]


def test_a_chain_far_from_the_snapshot_price_is_flagged() -> None:
    moved = spy_market(697.5)
    plan = build_plan(tech("LONG", symbol="SPY", supports=(694.0, 690.0),
                           resistances=(701.0, 705.0)),
                      macro("LONG"), wild(symbol="SPY"), moved, account(), "DAY", NOW, CONFIG)
    out = plan_with_options(plan, SPY, moved, NOW, OPTIONS)
    assert out.options is not None
    assert ("The chain's underlying price $690.00 is 1.1% from the snapshot's $697.50: quotes "
            "may be stale") in out.options.caution_notes


def test_underlying_asset_class_follows_the_daily_expiry_list() -> None:
    assert underlying_asset_class("spy", OPTIONS) == "index_etf"
    assert underlying_asset_class("AAPL", OPTIONS) == "stock"


def test_the_shipped_options_yaml_equals_the_documented_defaults() -> None:
    assert load_yaml(OPTIONS_YAML, OptionsConfig) == OptionsConfig()


def test_a_misspelt_options_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "options.yaml"
    path.write_text("phases:\n  primary:\n    delta_band: [0.4, 0.6]\n")
    with pytest.raises(ConfigError, match=r"phases\.primary\.delta_band"):
        load_yaml(path, OptionsConfig)


def test_the_ranking_weights_follow_the_seeds_priority_order() -> None:
    r = OPTIONS.ranking
    assert r.volume > r.theta > r.delta > r.open_interest > 0
