"""The figures a state carries answer as a state restored from a save does.

A state restored from a save has nothing beside its fields: every figure is worked
out from them. A random walk of the gate's transitions (orders, fills, updates,
heartbeats, marks, the timer, the multiplier, resumes, rollovers; limits swapped at
run time; branches off older states, as replays and what-ifs make them) decides
each order twice, on the state carried along and on the same state restored, and
asks the shadow's question of the state left behind: the answers and the states
they leave must be the same. Half the transitions other than orders
also carry every figure over (``carry_figures``, which says that is safe for any
transition), and now and then one field is changed with the figures carried: a
figure read for other fields than it was worked out from is caught.
"""

from __future__ import annotations

import random

import msgspec
import pytest

from bus.protocol import OrderUpdate
from risk import (
    RiskLimits,
    RiskState,
    apply_fill,
    apply_heartbeat,
    apply_mark,
    apply_order_update,
    check_limits,
    decide,
    evaluate,
    resume,
    roll_day,
    set_risk_multiplier,
)
from risk.exposure import pending_by_symbol, pending_of
from risk.state import carry_figures
from tests.unit.risk.risk_world import NOW, fill, heartbeat, limits, order, ready

LIMITS = [limits(), limits(max_consecutive_losses=1, max_orders_per_second=50.0),
          limits(max_leverage=1.0, remember_request_ids=64),
          limits(timezone="UTC+05:30", max_open_orders=5)]
PRICES = {"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0}


def restored(state: RiskState) -> RiskState:
    return msgspec.json.decode(msgspec.json.encode(state), type=RiskState)


def asked(rnd: random.Random, state: RiskState, lim: RiskLimits, now: float,
          ids: list[str]) -> RiskState:
    symbol = rnd.choice(list(PRICES))
    request = order(symbol, rnd.choice(["buy", "sell"]),
                    rnd.choice([0.001, 0.01, 0.05, 0.5, 1.0]) * (1 if symbol == "BTCUSDT" else 20),
                    PRICES[symbol] * rnd.choice([1.0, 1.001, 0.999]),
                    reduce_only=rnd.random() < 0.15,
                    leverage=rnd.choice([1.0] * 8 + [2.0, 2.0000000000000004, 3.0]),
                    request_id=rnd.choice(ids) if ids and rnd.random() < 0.15 else None)
    plain = restored(state)
    decision, after = decide(request, state, lim, now)
    again, after_again = decide(request, plain, lim, now)
    assert decision == again
    assert after == after_again  # field by field (a frozen set's order may differ)
    shadow = rnd.choice(LIMITS)
    assert evaluate(request, state, shadow, now) == evaluate(request, plain, shadow, now)
    ids.append(request.request_id)
    return after


def moved(rnd: random.Random, state: RiskState, lim: RiskLimits, now: float) -> RiskState:
    roll = rnd.random()
    if roll < 0.3 and state.open_orders:
        rid = rnd.choice(list(state.open_orders))
        held = state.open_orders[rid]
        side = held.side if rnd.random() < 0.7 else ("sell" if held.side == "buy" else "buy")
        done = fill(held.symbol, side, float(held.qty) * rnd.choice([0.5, 1.0]),
                    float(held.price) * rnd.choice([0.9, 0.999, 1.0, 1.1]),
                    rnd.choice([0.0, 1.0]), request_id=rid)
        return apply_fill(state, done, lim, now)[0]
    if roll < 0.45 and state.open_orders:
        update = OrderUpdate(request_id=rnd.choice(list(state.open_orders)), ts=now,
                             status=rnd.choice(["cancelled", "accepted", "expired"]))
        return apply_order_update(state, update, now)[0]
    if roll < 0.7 or now - (state.last_tick_ts or 0.0) > 5:
        equity = float(state.equity or 10_000) * rnd.choice([1.0, 0.97, 1.02])
        held_now = {s: (float(p.qty), float(p.avg_price) or 1.0)
                    for s, p in state.positions.items() if p.qty}
        return apply_heartbeat(state, heartbeat(equity, held_now, tick_ts=now, ts=now),
                               lim, now)[0]
    if roll < 0.8:
        return check_limits(state, lim, now)[0]
    if roll < 0.88:
        return set_risk_multiplier(state, rnd.choice([0.5, 1.0, 0.25]), "x", lim, now)[0]
    if roll < 0.94:
        return apply_mark(state, "BTCUSDT", 50_000.0 * rnd.choice([0.98, 1.0, 1.02]), now)
    if roll < 0.97:
        return resume(state, "checked", lim, now)[0]
    return roll_day(state, lim, now)[0]


def nudged(rnd: random.Random, state: RiskState) -> RiskState:
    """One field changed as some transition might, every other field the same object."""
    field = rnd.choice(["consecutive_losses", "risk_multiplier", "day", "positions"])
    value: object = {
        "consecutive_losses": rnd.choice([0, 1, 2]), "risk_multiplier": rnd.choice([0.5, 1.0]),
        "day": rnd.choice(["2024-04-30", state.day]),
        "positions": {s: msgspec.structs.replace(p, mark_price=p.avg_price)
                      for s, p in state.positions.items()}}[field]
    return msgspec.structs.replace(state, **{field: value})


@pytest.mark.parametrize("seed", range(8))
def test_carried_figures_answer_as_a_restored_state(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(3):
        lim = rnd.choice(LIMITS)
        state, now = ready(lim), NOW
        ids: list[str] = []
        line = [state]
        for _ in range(300):
            now += (rnd.choice([0.0, 0.01, 0.3, 1.0, 2.0]) if rnd.random() < 0.97
                    else rnd.choice([3_600.0, 40_000.0, 86_400.0]))
            lim = rnd.choice(LIMITS) if rnd.random() < 0.05 else lim
            state = rnd.choice(line) if rnd.random() < 0.08 else state  # a branch
            if rnd.random() < 0.45:
                state = asked(rnd, state, lim, now, ids)
            else:  # half the time as a transition that carried every figure would
                before, state = state, moved(rnd, state, lim, now)
                state = carry_figures(before, state) if rnd.random() < 0.5 else state
            if rnd.random() < 0.05:
                state = carry_figures(state, nudged(rnd, state))
            line.append(state)
            assert {s: p for s, p in pending_of(state).items() if any(p)} == {
                s: p for s, p in pending_by_symbol(state.open_orders.values()).items() if any(p)}
