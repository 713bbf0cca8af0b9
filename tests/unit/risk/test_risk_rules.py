"""Every opening-order rule, table by table: allowed just under, denied just over,
and the reason names the current value and the limit."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from bus.protocol import OrderRequest
from risk import RiskLimits, RiskState, decide, evaluate, halt, reduce
from tests.unit.risk.risk_world import NOW, limits, order, ready

Build = Callable[[RiskLimits], RiskState]


def fresh(lim: RiskLimits) -> RiskState:
    return ready(lim)


def holding(positions: dict[str, tuple[float, float]], equity: float = 10_000.0) -> Build:
    return lambda lim: ready(lim, equity=equity, positions=positions)


def replaced(**fields: Any) -> Build:
    """A ready state with fields set directly, as if the auto-halt had not run yet."""
    return lambda lim: msgspec.structs.replace(ready(lim), **fields)


BIG = {"max_order_notional": 1e9, "max_notional_per_symbol": 1e9, "max_leverage": 1000.0}

# id, limit overrides, state, order just under (or at) the limit, order just over it,
# expected code, fragments the reason must contain.
CASES: list[tuple[str, dict[str, Any], Build, OrderRequest, OrderRequest, str, list[str]]] = [
    ("fat_finger_qty", BIG, fresh,
     order(qty=0.5), order(qty=0.5000001),
     "fat_finger_qty", ["order qty 0.5000001 BTCUSDT", "max_order_qty 0.5"]),
    ("fat_finger_notional", {}, fresh,
     order(qty=0.05), order(qty=0.050001),
     "fat_finger_notional", ["order notional 2500.05 USDT", "max_order_notional 2500"]),
    ("fat_finger_notional_uses_higher_of_price_and_mark", {}, fresh,
     order(qty=0.0495, price=50_500.0), order(qty=0.0495, price=50_506.0),
     "fat_finger_notional", ["2500.05 USDT", "max_order_notional 2500"]),
    ("price_collar_above", {}, fresh,
     order(price=50_500.0), order(price=50_510.0),
     "price_collar", ["price 50510", "1.02%", "mark 50000", "max_price_deviation_pct 1%"]),
    ("price_collar_below", {}, fresh,
     order(side="sell", price=49_500.0), order(side="sell", price=49_490.0),
     "price_collar", ["price 49490", "1.02%", "max_price_deviation_pct 1%"]),
    ("notional_with_position", {}, holding({"BTCUSDT": (0.06, 50_000.0)}),
     order(qty=0.04), order(qty=0.0401),
     "notional_limit", ["BTCUSDT notional would be 5005 USDT", "max_notional_per_symbol 5000"]),
    ("notional_short_side", {}, holding({"BTCUSDT": (-0.06, 50_000.0)}),
     order(side="sell", qty=0.04), order(side="sell", qty=0.0401),
     "notional_limit", ["5005 USDT", "max_notional_per_symbol 5000"]),
    ("notional_symbol_override", {"symbols": {"BTCUSDT": {"max_notional": 1000.0}}}, fresh,
     order(qty=0.02), order(qty=0.0201),
     "notional_limit", ["1005 USDT", "max_notional_per_symbol 1000"]),
    ("gross_leverage", {"max_notional_per_symbol": 20_000.0, "max_order_notional": 20_000.0},
     holding({"BTCUSDT": (0.3, 50_000.0)}),
     order("ETHUSDT", qty=2.0, price=2_500.0), order("ETHUSDT", qty=2.001, price=2_500.0),
     "leverage_limit", ["gross leverage would be 2x", "20002.50 USDT", "equity 10000 USDT",
                        "max_leverage 2x"]),
    ("order_leverage", {}, fresh,
     order(leverage=2.0), order(leverage=2.5),
     "leverage_limit", ["order leverage 2.5x", "max_leverage 2x"]),
    ("risk_multiplier_scales_sizes", {}, replaced(risk_multiplier=0.5),
     order(qty=0.025), order(qty=0.0251),
     "fat_finger_notional", ["1255 USDT", "max_order_notional 2500 USDT x risk_multiplier 0.5 "
                             "= 1250 USDT"]),
    ("daily_loss", {}, replaced(cash=Decimal("9700.01")),
     order(), msgspec.structs.replace(order(), request_id="daily"),
     "daily_loss_limit", ["daily loss 300 USDT has reached max_daily_loss 300 USDT",
                          "3% of start-of-day equity 10000 USDT"]),
    ("drawdown", {}, replaced(high_water=Decimal(11_000), peak=Decimal(11_000),
                              cash=Decimal("10450.01")),
     order(), order(), "drawdown_limit",
     ["drawdown 550 USDT has reached max_drawdown 550 USDT", "high-water mark 11000"]),
    ("trailing_drawdown", {}, replaced(start_equity=Decimal(10_900), high_water=Decimal(10_900),
                                       peak=Decimal(12_000), cash=Decimal("10800.01")),
     order(), order(), "trailing_drawdown_limit",
     ["trailing drawdown 1200 USDT has reached max_trailing_drawdown 1200 USDT",
      "equity peak 12000"]),
    ("consecutive_losses", {}, replaced(consecutive_losses=5),
     order(), order(), "consecutive_losses",
     ["6 consecutive losing trades", "max_consecutive_losses 6"]),
    ("symbol_allow_list", {}, lambda lim: ready(lim, marks={"BTCUSDT": 50_000.0,
                                                            "DOGEUSDT": 0.1}),
     order(), order("DOGEUSDT", qty=100.0, price=0.1),
     "symbol_not_allowed", ["DOGEUSDT is not in the symbols allow-list", "BTCUSDT, ETHUSDT"]),
]

# States that need one more step after the under-the-limit order is allowed.
_TIP_OVER: dict[str, Callable[[RiskState], RiskState]] = {
    "daily_loss": lambda s: msgspec.structs.replace(s, cash=Decimal(9700)),
    "drawdown": lambda s: msgspec.structs.replace(s, cash=Decimal(10_450)),
    "trailing_drawdown": lambda s: msgspec.structs.replace(s, cash=Decimal(10_800)),
    "consecutive_losses": lambda s: msgspec.structs.replace(s, consecutive_losses=6),
}


@pytest.mark.parametrize(("under", "over", "code", "fragments", "overrides", "build", "name"),
                         [(c[3], c[4], c[5], c[6], c[1], c[2], c[0]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule_allows_at_the_limit_and_denies_past_it(
        under: OrderRequest, over: OrderRequest, code: str, fragments: list[str],
        overrides: dict[str, Any], build: Build, name: str) -> None:
    lim = msgspec.convert({**msgspec.to_builtins(limits()), **overrides}, RiskLimits)
    state = build(lim)
    allowed = evaluate(under, state, lim, NOW)
    assert allowed.verdict == "ALLOW", allowed
    state = _TIP_OVER.get(name, lambda s: s)(state)
    denied = evaluate(over, state, lim, NOW)
    assert (denied.verdict, denied.code) == ("DENY", code), denied
    for fragment in fragments:
        assert fragment in denied.reason


def test_notional_counts_allowed_orders_not_yet_filled() -> None:
    lim = limits()
    state = ready(lim)
    for _ in range(2):
        decision, state = decide(order(qty=0.04), state, lim, NOW)
        assert decision.allowed
    decision, state = decide(order(qty=0.02), state, lim, NOW)
    assert decision.allowed  # 0.04 + 0.04 + 0.02 = 0.1 BTC = 5000 USDT
    denied = evaluate(order(qty=0.0001), state, lim, NOW)
    assert denied.code == "notional_limit"
    assert "5005 USDT" in denied.reason


def test_open_orders_on_both_sides_count_at_the_worst_case() -> None:
    lim = limits()
    state = ready(lim)
    for _ in range(2):
        _, state = decide(order(side="sell", qty=0.05), state, lim, NOW)
    # the open sells use the whole short side; a buy does not net against them
    # (either side may fill alone), and it has the whole long side to itself
    assert evaluate(order(qty=0.05), state, lim, NOW).allowed
    assert evaluate(order(side="sell", qty=0.0001), state, lim, NOW).code == "notional_limit"


def test_a_reservation_outlives_the_ttl() -> None:
    lim = limits(open_order_ttl_s=10.0, stale_tick_s=60.0)
    state = ready(lim)
    for _ in range(2):
        _, state = decide(order(qty=0.05), state, lim, NOW)
    assert evaluate(order(qty=0.01), state, lim, NOW + 9.9).code == "notional_limit"
    assert evaluate(order(qty=0.01), state, lim, NOW + 10).code == "notional_limit"


def test_rate_limit_is_a_token_bucket_per_bot() -> None:
    lim = limits(max_orders_per_second=5.0)
    state = ready(lim)
    for _ in range(5):
        decision, state = decide(order(qty=0.001), state, lim, NOW)
        assert decision.allowed, decision
    denied = evaluate(order(qty=0.001), state, lim, NOW)
    assert denied.code == "rate_limit"
    assert "bot qe is over max_orders_per_second 5" in denied.reason
    assert evaluate(order(qty=0.001, bot_id="other"), state, lim, NOW).allowed
    assert evaluate(order(qty=0.001), state, lim, NOW + 0.19).code == "rate_limit"
    assert evaluate(order(qty=0.001), state, lim, NOW + 0.2).allowed


def test_denied_orders_do_not_spend_rate_tokens() -> None:
    lim = limits(max_orders_per_second=1.0)
    state = ready(lim)
    for _ in range(3):
        decision, state = decide(order(qty=10.0), state, lim, NOW)
        assert decision.code == "fat_finger_qty"
    assert evaluate(order(qty=0.001), state, lim, NOW).allowed


def test_open_orders_limit() -> None:
    lim = limits(max_open_orders=3, max_orders_per_second=100.0, open_order_ttl_s=30.0)
    state = ready(lim)
    for _ in range(3):
        decision, state = decide(order(qty=0.001), state, lim, NOW)
        assert decision.allowed
    denied = evaluate(order(qty=0.001), state, lim, NOW)
    assert denied.code == "open_orders_limit"
    assert "3 allowed orders are still open, at max_open_orders 3" in denied.reason


def test_duplicate_request_id_is_denied_whatever_the_first_answer() -> None:
    lim = limits()
    state = ready(lim)
    first = order(qty=10.0, request_id="same")
    decision, state = decide(first, state, lim, NOW)
    assert decision.code == "fat_finger_qty"
    again = evaluate(order(qty=0.001, request_id="same"), state, lim, NOW)
    assert again.code == "duplicate_request"
    assert "request_id same" in again.reason


def test_request_ids_are_remembered_up_to_the_configured_count() -> None:
    lim = limits(remember_request_ids=128, max_orders_per_second=1e6, max_open_orders=10_000)
    state = ready(lim)
    for i in range(300):
        _, state = decide(order(qty=10.0, request_id=f"id{i}"), state, lim, NOW)
    for i in range(300 - 128, 300):
        assert evaluate(order(request_id=f"id{i}"), state, lim, NOW).code == "duplicate_request"
    assert evaluate(order(request_id="id0"), state, lim, NOW).allowed


@pytest.mark.parametrize(("step", "code", "fragment"), [
    (halt, "halted", "trading is HALTED (halted by hand: operator check)"),
    (reduce, "reducing_only", "trading is REDUCING (reducing by hand: operator check)"),
])
def test_halted_and_reducing_deny_opening_orders(step: Any, code: str, fragment: str) -> None:
    lim = limits()
    state, _ = step(ready(lim), "operator check", NOW)
    denied = evaluate(order(), state, lim, NOW)
    assert (denied.code, denied.verdict) == (code, "DENY")
    assert fragment in denied.reason
    assert "reduce_only" in denied.reason


def test_allow_reason_names_the_headroom() -> None:
    lim = limits()
    allowed = evaluate(order(qty=0.01), ready(lim), lim, NOW)
    assert allowed.code == "allowed"
    assert "BTCUSDT notional 500 USDT within 5000 USDT" in allowed.reason
    assert "gross leverage 0.05x within 2x" in allowed.reason
