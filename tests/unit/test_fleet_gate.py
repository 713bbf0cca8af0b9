"""The fleet gate's veto (agents/risk/fleet.py): it keeps who is in which scope, and
reads every bot's state as it is at each order."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from agents.risk.fleet import FleetGate
from risk.limits import PortfolioLimits
from risk.state import OpenOrder, PositionState, RiskState

D = Decimal


def ledger(*, pending: str = "0") -> RiskState:
    orders = {} if pending == "0" else {"o": OpenOrder(
        symbol="BTCUSDT", side="buy", qty=D(pending), price=D("50000"), ts=0.0)}
    return RiskState(day="2026-12-07", cash=D("10000"), start_equity=D("10000"),
                     positions={"BTCUSDT": PositionState(qty=D(0), avg_price=D(0),
                                                         mark_price=D("50000"))},
                     open_orders=orders)


def order_of(gross: str) -> Any:
    ctx = SimpleNamespace(order=SimpleNamespace(symbol="BTCUSDT"))
    ctx.__dict__["exposure_after"] = (D(gross), D(gross))
    return ctx


def test_the_veto_reads_each_bots_state_of_the_moment_and_follows_attach_and_detach() -> None:
    gate = FleetGate(accounts={"a": "main", "b": "main", "c": "sub"},
                     limits=PortfolioLimits(max_gross_notional=5000))
    engines: dict[str, Any] = {b: SimpleNamespace(state=ledger()) for b in "abc"}
    for bot_id, engine in engines.items():
        gate.attach(bot_id, engine)
    assert gate.veto("a", order_of("4000")) is None
    engines["b"].state = ledger(pending="0.03")  # 1500 pending: a's 4000 is now too much
    denied = gate.veto("a", order_of("4000"))
    assert denied is not None and denied.code == "portfolio_gross_limit"
    assert denied.reason.startswith("portfolio:")
    assert gate.veto("c", order_of("3000")) is None  # its account holds nothing else
    gate.detach("b", engines["b"])
    denied = gate.veto("a", order_of("10"))
    assert denied is not None and "bot b" in denied.reason  # its ledger is not loaded
    engines["b"] = SimpleNamespace(state=ledger())
    gate.attach("b", engines["b"])  # back, with nothing pending
    assert gate.veto("a", order_of("4000")) is None


def test_each_engines_new_state_reaches_the_portfolios_totals_as_it_is_made() -> None:
    from agents.risk.actor import RiskEngine
    from agents.risk.slice import RiskSlice
    from tests.unit.risk.risk_world import NOW, limits, order, ready

    gate = FleetGate(accounts={"a": "main", "b": "main"},
                     limits=PortfolioLimits(max_gross_notional=900))
    lim = limits()
    engines = {b: RiskEngine(config=RiskSlice(limits=lim, bot_id=b, fleet=gate)) for b in "ab"}
    for bot_id, engine in engines.items():
        engine._state = ready(lim)
        gate.attach(bot_id, engine)
    first = engines["a"].decide(order(qty=0.01, bot_id="a"), NOW)  # 500 USDT of 900
    assert first.verdict == "ALLOW", first
    assert all(t._told for t in gate._tallies.values())  # the engines tell: no comparing
    second = engines["b"].decide(order(qty=0.01, bot_id="b"), NOW)  # a's 500 pending + 500
    assert second.verdict == "DENY" and second.code == "portfolio_gross_limit", second
    engines["a"]._state = ready(lim)  # a's order gone (any new state, by any path)
    third = engines["b"].decide(order(qty=0.01, bot_id="b"), NOW)
    assert third.verdict == "ALLOW", third
