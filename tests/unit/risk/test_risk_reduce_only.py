"""Reduce-only orders: closing must always be possible, and only closing passes."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from risk import apply_heartbeat, decide, evaluate, halt, initial_state, reduce
from tests.unit.risk.risk_world import NOW, heartbeat, limits, order, ready

LONG = {"BTCUSDT": (0.1, 50_000.0)}


def closing(qty: float = 0.05, side: str = "sell", **kw: object) -> object:
    return order(side=side, qty=qty, reduce_only=True, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("held", "side", "qty", "after"), [
    (0.1, "sell", 0.05, "0.05"),
    (0.1, "sell", 0.1, "0"),
    (-0.1, "buy", 0.04, "-0.06"),
    (-0.1, "buy", 0.1, "0"),
])
def test_shrinking_orders_are_allowed(held: float, side: str, qty: float, after: str) -> None:
    lim = limits()
    state = ready(lim, positions={"BTCUSDT": (held, 50_000.0)})
    decision = evaluate(order(side=side, qty=qty, reduce_only=True), state, lim, NOW)
    assert decision.allowed, decision
    assert f"shrinks the position from {held:g} to {after}" in decision.reason


@pytest.mark.parametrize(("held", "side", "qty", "word"), [
    (0.1, "buy", 0.01, "grow the position from 0.1 to 0.11"),
    (-0.1, "sell", 0.01, "grow the position from -0.1 to -0.11"),
    (0.1, "sell", 0.1000001, "flip the position from 0.1 to -0.0000001"),
    (-0.1, "buy", 0.3, "flip the position from -0.1 to 0.2"),
    (0.0, "sell", 0.01, "there is no BTCUSDT position to reduce"),
])
def test_reduce_only_that_would_not_shrink_is_denied(held: float, side: str, qty: float,
                                                     word: str) -> None:
    lim = limits()
    state = ready(lim, positions={"BTCUSDT": (held, 50_000.0)})
    decision = evaluate(order(side=side, qty=qty, reduce_only=True), state, lim, NOW)
    assert (decision.verdict, decision.code) == ("DENY", "reduce_only_invalid")
    assert word in decision.reason


def test_no_position_known_before_the_first_heartbeat() -> None:
    lim = limits()
    decision = evaluate(order(side="sell", reduce_only=True), initial_state(lim, NOW), lim, NOW)
    assert decision.code == "no_position"
    assert "no heartbeat" in decision.reason


@pytest.mark.parametrize("step", [halt, reduce])
def test_allowed_when_halted_or_reducing(step: object) -> None:
    lim = limits()
    state, _ = step(ready(lim, positions=LONG), "stop", NOW)  # type: ignore[operator]
    assert state.trading_state in ("HALTED", "REDUCING")
    assert evaluate(order(side="sell", qty=0.1, reduce_only=True), state, lim, NOW).allowed
    plain = evaluate(order(side="sell", qty=0.1), state, lim, NOW)
    assert plain.code in ("halted", "reducing_only")  # without the flag it is an opening order


def test_no_size_notional_price_or_loss_limit_blocks_closing() -> None:
    lim = limits(max_order_notional=10.0, max_notional_per_symbol=10.0, max_leverage=0.01,
                 max_price_deviation_pct=0.01, symbols={})
    big = {"BTCUSDT": (2.0, 50_000.0)}
    state = ready(lim, equity=10_000.0, positions=big)
    state = msgspec.structs.replace(state, cash=Decimal(1), consecutive_losses=99)
    decision = evaluate(order(side="sell", qty=1.5, price=1.0, reduce_only=True), state, lim,
                        NOW)
    assert decision.allowed, decision


def test_missing_mark_and_stale_feed_do_not_block_closing() -> None:
    lim = limits()
    state = ready(lim, positions=LONG)
    stale = NOW + 3600
    assert evaluate(order(), state, lim, stale).code == "stale_feed"
    assert evaluate(closing(), state, lim, stale).allowed  # type: ignore[arg-type]
    unmarked = msgspec.structs.replace(state, positions={
        s: msgspec.structs.replace(p, mark_price=None) for s, p in state.positions.items()})
    assert evaluate(closing(), unmarked, lim, NOW).allowed  # type: ignore[arg-type]


def test_rate_and_open_order_limits_never_block_closing() -> None:
    lim = limits(max_orders_per_second=1.0, max_open_orders=1)
    state = ready(lim, positions={"BTCUSDT": (0.05, 50_000.0)})
    decision, state = decide(order(qty=0.001), state, lim, NOW)
    assert decision.allowed
    assert evaluate(order(qty=0.001), state, lim, NOW).code == "open_orders_limit"
    for _ in range(5):
        decision, state = decide(closing(0.01), state, lim, NOW)  # type: ignore[arg-type]
        assert decision.allowed, decision
    assert len(state.open_orders) == 6  # closing orders reserve what they will reduce
    assert state.buckets["qe"].tokens == 0.0  # but spend no rate token


def test_a_symbol_outside_the_allow_list_can_still_be_closed() -> None:
    lim = limits()
    state = ready(lim, positions={"DOGEUSDT": (1000.0, 0.1)},
                  marks={"BTCUSDT": 50_000.0, "DOGEUSDT": 0.1})
    assert evaluate(order("DOGEUSDT", "sell", 1000.0, 0.1, reduce_only=True), state, lim,
                    NOW).allowed
    assert evaluate(order("DOGEUSDT", "buy", 1.0, 0.1), state, lim, NOW).code == \
        "symbol_not_allowed"


def test_duplicate_id_is_denied_even_for_closing() -> None:
    lim = limits()
    state = ready(lim, positions=LONG)
    first = closing(0.01, request_id="close-1")
    decision, state = decide(first, state, lim, NOW)  # type: ignore[arg-type]
    assert decision.allowed
    again = evaluate(closing(0.01, request_id="close-1"), state, lim, NOW)  # type: ignore[arg-type]
    assert again.code == "duplicate_request"
    assert evaluate(closing(0.01, request_id="close-2"), state, lim, NOW).allowed  # type: ignore[arg-type]


def test_positions_adopted_from_a_heartbeat_can_be_closed_after_a_restart_mismatch() -> None:
    lim = limits()
    state = ready(lim)
    state, _ = apply_heartbeat(state, heartbeat(positions={"ETHUSDT": (2.0, 2_500.0)}), lim, NOW)
    state, _ = apply_heartbeat(state, heartbeat(positions={"ETHUSDT": (2.0, 2_500.0)}), lim,
                               NOW + lim.reconcile.grace_s)
    assert state.trading_state == "REDUCING"
    assert evaluate(order("ETHUSDT", "sell", 2.0, 2_500.0, reduce_only=True), state, lim,
                    NOW + 5).allowed
