"""Rebuilding from the journal what the last saved state has not seen (after a kill -9)."""

from __future__ import annotations

from decimal import Decimal

from bus.protocol import OrderDecision, OrderRequest, OrderUpdate, make_decision
from risk import OrderFact, decide, evaluate, replay
from tests.unit.risk.risk_world import NOW, fill, limits, order, ready


def _decided(o: OrderRequest, verdict: str = "ALLOW", code: str = "allowed") -> OrderDecision:
    return make_decision(request_id=o.request_id, verdict=verdict,  # type: ignore[arg-type]
                         code=code, reason="", trading_state="ACTIVE",  # type: ignore[arg-type]
                         bot_id=o.bot_id, ts=o.ts)


def test_an_order_allowed_after_the_save_reserves_again() -> None:
    lim = limits()
    saved = ready(lim)
    allowed = order(qty=0.05, request_id="after-save")
    facts: list[tuple[float, OrderFact]] = [(NOW + 1, allowed), (NOW + 1, _decided(allowed))]
    state = replay(saved, facts, lim)
    reserved = state.open_orders["after-save"]
    assert (reserved.qty, reserved.ts) == (Decimal("0.05"), NOW + 1)
    assert "after-save" in state.request_ids
    assert evaluate(order(qty=0.05), state, lim, NOW + 2).allowed  # 5000 USDT: at the cap
    _, state = decide(order(qty=0.05), state, lim, NOW + 2)
    assert evaluate(order(qty=0.001), state, lim, NOW + 2).code == "notional_limit"


def test_denied_orders_are_remembered_but_reserve_nothing() -> None:
    lim = limits()
    denied = order(qty=10.0, request_id="too-big")
    state = replay(ready(lim), [(NOW, denied), (NOW, _decided(denied, "DENY",
                                                               "fat_finger_qty"))], lim)
    assert state.open_orders == {} and "too-big" in state.request_ids
    assert evaluate(order(request_id="too-big"), state, lim, NOW).code == "duplicate_request"


def test_a_decision_the_save_already_holds_is_not_reserved_twice() -> None:
    lim = limits()
    o = order(qty=0.05, request_id="seen")
    _, saved = decide(o, ready(lim), lim, NOW)
    state = replay(saved, [(NOW, o), (NOW, _decided(o))], lim)
    assert state.open_orders == saved.open_orders


def test_fills_and_updates_after_the_save_are_applied_in_order() -> None:
    lim = limits()
    first, second = order(qty=0.05, request_id="one"), order(qty=0.02, request_id="two")
    facts: list[tuple[float, OrderFact]] = [
        (NOW, first), (NOW, _decided(first)), (NOW, second), (NOW, _decided(second)),
        (NOW + 1, fill(qty=0.05, request_id="one")),
        (NOW + 2, OrderUpdate(request_id="two", status="cancelled", ts=NOW + 2))]
    state = replay(ready(lim), facts, lim)
    assert state.open_orders == {}
    assert state.positions["BTCUSDT"].qty == Decimal("0.05")
