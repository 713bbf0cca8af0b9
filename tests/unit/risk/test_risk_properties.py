"""Properties over many random books and orders (hypothesis).

- no ALLOWed order pushes its symbol's notional or the gross leverage past a
  limit, counted at the worst case over the allowed orders still open;
- no sequence of decisions does either;
- a reduce_only ALLOW never grows nor flips a position;
- ``evaluate`` never raises, and on valid input never falls back to
  ``internal_error``.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bus.protocol import OrderRequest
from risk import CODES, RiskLimits, RiskState, apply_fill, decide, evaluate, halt
from risk.money import dec
from tests.unit.risk.risk_world import NOW, fill, limits, ready

_ids = itertools.count()
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]
BASE_MARKS = {"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0, "SOLUSDT": 150.0, "DOGEUSDT": 0.1}
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

limit_sets = st.builds(
    lambda notional, lev, order_notional, mult: (limits(
        max_notional_per_symbol=notional, max_leverage=lev, max_order_notional=order_notional,
        max_orders_per_second=1000.0, max_open_orders=50, max_price_deviation_pct=5.0,
        symbols={"BTCUSDT": {}, "ETHUSDT": {}, "SOLUSDT": {"max_order_qty": 40.0}},
        risk_multiplier={"min": 0.0, "max": 2.0, "default": 1.0}), mult),
    st.floats(100, 20_000), st.floats(0.2, 5), st.floats(50, 20_000), st.floats(0, 2))


@st.composite
def books(draw: st.DrawFn, flat: bool = False) -> tuple[RiskLimits, RiskState]:
    """Random limits, marks, positions and equity, anchored by one heartbeat."""
    lim_raw, mult = draw(limit_sets)
    lim = msgspec.convert(msgspec.to_builtins(lim_raw), RiskLimits)
    marks = {s: m * draw(st.floats(0.5, 2)) for s, m in BASE_MARKS.items()}
    positions = {}
    held = [] if flat else draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=3))
    for symbol in held:
        notional = draw(st.floats(1, 6_000)) * draw(st.sampled_from([1, -1]))
        positions[symbol] = (notional / marks[symbol], marks[symbol] * draw(st.floats(0.9, 1.1)))
    state = ready(lim, equity=draw(st.floats(500, 50_000)), positions=positions, marks=marks)
    return lim, msgspec.structs.replace(state, risk_multiplier=mult)


@st.composite
def orders(draw: st.DrawFn, state: RiskState, reduce_only: bool | None = None) -> OrderRequest:
    symbol = draw(st.sampled_from(SYMBOLS))
    mark = state.positions[symbol].mark_price if symbol in state.positions else None
    near = float(mark) if mark is not None else BASE_MARKS[symbol]
    notional = draw(st.floats(1, 8_000))
    return OrderRequest(
        request_id=f"h{next(_ids)}", bot_id="qe", ts=NOW, symbol=symbol,
        side=draw(st.sampled_from(["buy", "sell"])), qty=notional / near,
        price=near * draw(st.floats(0.97, 1.03)),
        reduce_only=draw(st.booleans()) if reduce_only is None else reduce_only,
        leverage=draw(st.sampled_from([1.0, 1.0, 1.0, 1.0, 3.0])))


def _price(state: RiskState, symbol: str) -> Decimal | None:
    pos = state.positions.get(symbol)
    return None if pos is None else pos.mark_price


def exposure(state: RiskState, lim: RiskLimits, now: float,
             override: tuple[str, Decimal] | None = None) -> tuple[dict[str, Decimal], Decimal]:
    """An independent oracle: worst-case notional per symbol and in total."""
    held = {s: p.qty for s, p in state.positions.items()}
    buys: dict[str, Decimal] = {}
    sells: dict[str, Decimal] = {}
    for o in state.open_orders.values():  # every allowed order reserves until filled or ended
        if not o.reduce_only:  # a venue that enforces reduce_only never lets one grow a position
            side = buys if o.side == "buy" else sells
            side[o.symbol] = side.get(o.symbol, Decimal(0)) + o.qty
    per: dict[str, Decimal] = {}
    for symbol in set(held) | set(buys) | set(sells):
        q = held.get(symbol, Decimal(0))
        worst = max(abs(q + buys.get(symbol, Decimal(0))), abs(q - sells.get(symbol, Decimal(0))))
        price = override[1] if override and override[0] == symbol else _price(state, symbol)
        if worst:
            assert price is not None
            per[symbol] = worst * price
    return per, sum(per.values(), Decimal(0))


@SETTINGS
@given(st.data())
def test_an_allowed_order_never_pushes_exposure_past_a_limit(data: st.DataObject) -> None:
    lim, state = data.draw(books())
    for _ in range(data.draw(st.integers(0, 3))):  # some allowed orders already open
        _, state = decide(data.draw(orders(state, reduce_only=False)), state, lim, NOW)
    o = data.draw(orders(state, reduce_only=False))
    decision, after = decide(o, state, lim, NOW)
    event(decision.code)
    if not decision.allowed:
        return
    mark = state.positions[o.symbol].mark_price
    assert mark is not None
    value = max(mark, dec(o.price))
    per, gross = exposure(after, lim, NOW, (o.symbol, value))
    mult = dec(state.risk_multiplier)
    assert per[o.symbol] <= lim.symbol_notional_limit(o.symbol) * mult
    equity = state.equity
    assert equity is not None
    assert gross <= dec(lim.max_leverage) * mult * equity


@SETTINGS
@given(st.data())
def test_no_sequence_of_decisions_breaks_the_exposure_limits(data: st.DataObject) -> None:
    """Starting flat, with fills at the mark (so equity stays put), any mix of orders
    and fills leaves every symbol and the book within the limits, at the marks."""
    lim, state = data.draw(books(flat=True))
    equity = state.equity
    assert equity is not None
    for step in range(data.draw(st.integers(1, 12))):
        o = data.draw(orders(state))
        decision, state = decide(o, state, lim, NOW)
        event(decision.code)
        if decision.allowed and data.draw(st.booleans()):
            mark = state.positions[o.symbol].mark_price
            state, _ = apply_fill(state, fill(o.symbol, o.side, o.qty, float(mark or 0),
                                              request_id=o.request_id), lim, NOW)
        assert state.equity == equity, step
    per, gross = exposure(state, lim, NOW)
    mult = dec(state.risk_multiplier)
    for symbol, notional in per.items():
        assert notional <= lim.symbol_notional_limit(symbol) * mult
    assert gross <= dec(lim.max_leverage) * mult * equity


@SETTINGS
@given(st.data())
def test_reduce_only_allow_never_grows_a_position(data: st.DataObject) -> None:
    lim, state = data.draw(books())
    if data.draw(st.booleans()):
        state, _ = halt(state, "property", NOW)
    o = data.draw(orders(state, reduce_only=True))
    held_symbols = sorted(s for s, p in state.positions.items() if p.qty)
    if bool(held_symbols) and data.draw(st.booleans()):  # aim at a held position, near its size
        pos = state.positions[data.draw(st.sampled_from(held_symbols))]
        o = msgspec.structs.replace(
            o, symbol=next(s for s, p in state.positions.items() if p is pos),
            side="sell" if pos.qty > 0 else "buy",
            qty=float(abs(pos.qty)) * data.draw(st.sampled_from([0.1, 0.5, 1.0, 1.0000001, 2])))
    decision = evaluate(o, state, lim, NOW)
    event(decision.code)
    held = state.positions[o.symbol].qty if o.symbol in state.positions else Decimal(0)
    if not decision.allowed:
        assert decision.code in ("reduce_only_invalid", "no_position")
        return
    after = held + (dec(o.qty) if o.side == "buy" else -dec(o.qty))
    assert abs(after) < abs(held)
    assert after == 0 or (after > 0) == (held > 0)
    filled, _ = apply_fill(state, fill(o.symbol, o.side, o.qty, o.price), lim, NOW)
    assert abs(filled.positions[o.symbol].qty) < abs(held)


valid_orders = st.builds(
    OrderRequest,
    request_id=st.text(min_size=1, max_size=128), bot_id=st.text(min_size=1, max_size=128),
    ts=st.floats(0, 1e11), symbol=st.sampled_from([*SYMBOLS, "X" * 64]),
    side=st.sampled_from(["buy", "sell"]),
    qty=st.floats(min_value=0, max_value=1e15, exclude_min=True, exclude_max=True),
    price=st.floats(min_value=0, max_value=1e15, exclude_min=True, exclude_max=True),
    order_type=st.sampled_from(["market", "limit"]), reduce_only=st.booleans(),
    leverage=st.floats(1, 1000))


@SETTINGS
@given(st.data(), valid_orders, st.floats(NOW - 10, NOW + 200_000))
def test_evaluate_never_raises_on_valid_input(data: st.DataObject, o: OrderRequest,
                                              now: float) -> None:
    lim, state = data.draw(books())
    state = msgspec.structs.replace(state, consecutive_losses=data.draw(st.integers(0, 9)))
    decision = evaluate(o, state, lim, now)
    event(decision.code)
    assert decision.verdict in ("ALLOW", "DENY")
    assert decision.code in CODES
    assert decision.code != "internal_error", decision.reason
    assert decision.reason


anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5))


@SETTINGS
@given(st.data(), st.dictionaries(st.sampled_from(
    ["request_id", "bot_id", "symbol", "side", "qty", "price", "reduce_only", "leverage"]),
    anything))
def test_evaluate_never_raises_on_garbage(data: st.DataObject, fields: dict[str, Any]) -> None:
    lim, state = data.draw(books())
    base: dict[str, Any] = {"request_id": "g", "bot_id": "qe", "ts": NOW, "symbol": "BTCUSDT",
                            "side": "buy", "qty": 0.01, "price": 50_000.0}
    decision = evaluate(OrderRequest(**{**base, **fields}), state, lim, NOW)
    assert decision.code in CODES
