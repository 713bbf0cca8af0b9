"""Missing or broken facts deny opening orders, with a reason naming the fact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bus.protocol import OrderRequest
from risk import decide, evaluate, initial_state, roll_day
from risk.state import PositionState
from tests.unit.risk.risk_world import MIDNIGHT, NOW, limits, order, ready


def test_before_the_first_heartbeat_the_engine_is_reducing() -> None:
    lim = limits()
    decision = evaluate(order(), initial_state(lim, NOW), lim, NOW)
    assert decision.code == "reducing_only"
    assert "waiting for the bot's first heartbeat" in decision.reason


def test_no_equity_names_the_missing_fact() -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim), cash=None)
    decision = evaluate(order(), state, lim, NOW)
    assert decision.code == "no_equity"
    assert "no equity is known yet" in decision.reason


def test_equity_that_is_not_positive_is_refused() -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim), cash=Decimal(-5))
    decision = evaluate(order(), state, lim, NOW)
    assert decision.code in ("no_equity", "daily_loss_limit")
    state = msgspec.structs.replace(ready(lim), cash=Decimal(0), start_equity=Decimal(0),
                                    high_water=Decimal(0), peak=Decimal(0))
    assert evaluate(order(), state, lim, NOW).code == "no_equity"


def test_a_new_day_has_no_start_equity_until_its_first_heartbeat() -> None:
    lim = limits()
    state = ready(lim)
    after = MIDNIGHT + 1
    fresh_marks = msgspec.structs.replace(state, positions={
        s: msgspec.structs.replace(p, mark_ts=after) for s, p in state.positions.items()})
    unrolled = evaluate(order(), fresh_marks, lim, after)
    assert unrolled.code == "no_equity"
    assert "no start-of-day equity for 2024-05-02" in unrolled.reason
    rolled, _ = roll_day(fresh_marks, lim, after)
    assert evaluate(order(), rolled, lim, after).code == "no_equity"


def test_no_mark_for_the_symbol() -> None:
    lim = limits()
    state = ready(lim, marks={"BTCUSDT": 50_000.0})
    decision = evaluate(order("ETHUSDT", price=2_500.0), state, lim, NOW)
    assert decision.code == "no_mark_price"
    assert "no mark price for ETHUSDT" in decision.reason


def test_a_held_symbol_without_a_mark_makes_gross_exposure_unknown() -> None:
    lim = limits()
    state = ready(lim)
    positions = dict(state.positions)
    positions["ETHUSDT"] = PositionState(qty=Decimal(1), avg_price=Decimal(2500))
    state = msgspec.structs.replace(state, positions=positions)
    decision = evaluate(order(), state, lim, NOW)
    assert decision.code == "no_mark_price"
    assert "ETHUSDT, needed to value gross exposure" in decision.reason


@pytest.mark.parametrize(("age", "allowed"), [(5.0, True), (5.1, False)])
def test_stale_feed(age: float, allowed: bool) -> None:
    lim = limits(stale_tick_s=5.0)
    decision = evaluate(order(), ready(lim), lim, NOW + age)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code == "stale_feed"
        assert "the last BTCUSDT tick is 5.1 s old, over stale_tick_s 5 s" in decision.reason


def test_no_tick_time_is_a_stale_feed() -> None:
    lim = limits()
    state = ready(lim)
    state = msgspec.structs.replace(state, positions={
        s: msgspec.structs.replace(p, mark_ts=None) for s, p in state.positions.items()})
    decision = evaluate(order(), state, lim, NOW)
    assert decision.code == "stale_feed"
    assert "no tick time is known for BTCUSDT" in decision.reason


def _raw(**fields: Any) -> OrderRequest:
    """An order built in code: msgspec does not check bounds on construction."""
    base: dict[str, Any] = {"request_id": "x", "bot_id": "qe", "ts": NOW, "symbol": "BTCUSDT",
                            "side": "buy", "qty": 0.01, "price": 50_000.0}
    return OrderRequest(**{**base, **fields})


@pytest.mark.parametrize("fields", [
    {"qty": float("nan")}, {"qty": float("inf")}, {"qty": 0.0}, {"qty": -1.0}, {"qty": "1"},
    {"price": 0.0}, {"price": float("nan")}, {"price": 1e16}, {"leverage": 0.0},
    {"leverage": True}, {"side": "hold"}, {"request_id": ""}, {"symbol": ""},
    {"bot_id": "b" * 200}, {"reduce_only": "yes"},
])
def test_invalid_requests_are_denied(fields: dict[str, Any]) -> None:
    lim = limits()
    decision = evaluate(_raw(**fields), ready(lim), lim, NOW)
    assert (decision.verdict, decision.code) == ("DENY", "invalid_request")
    assert next(iter(fields)) in decision.reason


@pytest.mark.parametrize("now", [float("nan"), float("inf"), -1.0])
def test_a_bad_clock_is_denied(now: float) -> None:
    lim = limits()
    assert evaluate(order(), ready(lim), lim, now).code == "invalid_request"


def test_anything_unexpected_fails_closed() -> None:
    lim = limits()
    broken = msgspec.structs.replace(ready(lim), positions={"BTCUSDT": "junk"})
    decision = evaluate(order(), broken, lim, NOW)
    assert (decision.verdict, decision.code) == ("DENY", "internal_error")
    assert "denied to stay safe" in decision.reason
    decision, kept = decide(order(), broken, lim, NOW)
    assert decision.code == "internal_error"
    assert kept.open_orders == {}  # nothing reserved for a denied order


def test_decide_denies_when_recording_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    lim = limits()
    state = ready(lim)

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("risk.engine.OpenOrder", broken)  # the reservation cannot be made
    decision, kept = decide(order(), state, lim, NOW)
    assert (decision.verdict, decision.code) == ("DENY", "internal_error")
    assert kept is state
