"""Builders for the options tests: stock plans from the planner factories, hand-made contracts.

The default market is the planner tests' one (a stock at $100 on Wednesday
2026-02-04, 10:00 New York, 30-day ATR $2, support $99, resistances $102 and
$104), so the stock plans are the ones docs/planner.md works by hand: a DAY
LONG with entry zone $99.50–$99.70, stop $98.60–$98.80 and a $1,000 budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from planner.builder import build_plan
from planner.contracts import ContractType, OptionChain, OptionContract
from planner.contracts_polygon import decode_chain
from planner.messages import MarketSnapshot, TradePlan
from planner.options_config import OptionsConfig
from planner.parts import Direction, Style
from tests.unit.planner.planner_factories import CONFIG, NOW, account, macro, snap, tech, wild

TODAY = date(2026, 2, 4)
"""NOW's date in New York (a Wednesday)."""
OPTIONS = OptionsConfig()
FIXTURES = Path(__file__).parents[2] / "fixtures" / "options"


def stock_plan(direction: Direction = "LONG", style: Style = "DAY", *, symbol: str = "AAPL",
               market: MarketSnapshot | None = None, size: float = 100_000.0) -> TradePlan:
    market = market or snap(symbol=symbol)
    plan = build_plan(tech(direction, symbol=symbol), macro(direction), wild(symbol=symbol),
                      market, account(size), style, NOW, CONFIG)
    assert plan.decision == "TRADE", plan.no_trade_reasons
    return plan


def occ(root: str, expiry: date, kind: ContractType, strike: float) -> str:
    return f"O:{root}{expiry:%y%m%d}{'C' if kind == 'call' else 'P'}{round(strike * 1000):08d}"


def opt(strike: float = 100.0, days: int = 7, kind: ContractType = "call", *,
        root: str = "AAPL", delta: float | None = 0.5, theta: float | None = -0.05,
        gamma: float | None = 0.05, bid: float | None = 2.0, ask: float | None = 2.1,
        volume: float | None = 1000.0, oi: float | None = 5000.0, shares: float = 100.0,
        symbol: str | None = None, expiration: str | None = None,
        missing: Sequence[str] = ()) -> OptionContract:
    """One contract; a put's delta is made negative when given as positive."""
    expiry = TODAY + timedelta(days=days)
    if kind == "put" and delta is not None:
        delta = -abs(delta)
    return OptionContract(
        symbol=symbol or occ(root, expiry, kind, strike), underlying=root, contract_type=kind,
        expiration=expiration or expiry.isoformat(), strike=strike, shares_per_contract=shares,
        delta=delta, gamma=gamma, theta=theta, vega=0.1 if delta is not None else None,
        implied_volatility=0.3 if delta is not None else None, bid=bid, ask=ask,
        midpoint=(bid + ask) / 2 if bid is not None and ask is not None else None,
        volume=volume, open_interest=oi, underlying_price=100.0, missing=list(missing))


def chain(*contracts: OptionContract, underlying: str = "AAPL",
          price: float | None = 100.0) -> OptionChain:
    return OptionChain(underlying=underlying, contracts=list(contracts), ts=NOW - 5,
                       underlying_price=price)


def fixture_chain(name: str) -> OptionChain:
    """``spy`` or ``aapl``: the checked-in vendor files, decoded."""
    return decode_chain((FIXTURES / f"{name}_chain.json").read_bytes())


def spy_market(price: float = 690.0) -> MarketSnapshot:
    return snap(price, hod=price + 3, lod=price - 6, atr=8.0, vwap=price - 2, symbol="SPY",
                asset_class="index_etf")


def spy_plan(direction: Direction = "LONG", style: Style = "DAY") -> TradePlan:
    market = spy_market()
    plan = build_plan(tech(direction, symbol="SPY", supports=(687.0, 683.0),
                           resistances=(694.0, 698.0)),
                      macro(direction), wild(symbol="SPY"), market, account(), style, NOW, CONFIG)
    assert plan.decision == "TRADE", plan.no_trade_reasons
    return plan


__all__ = ["NOW", "OPTIONS", "TODAY", "chain", "fixture_chain", "occ", "opt", "snap",
           "spy_market", "spy_plan", "stock_plan"]
