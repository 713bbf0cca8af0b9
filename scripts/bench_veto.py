#!/usr/bin/env python3
"""The portfolio's veto (``FleetGate.veto``) for a fleet, CPU µs an order, beside the
raw sum of the same bots' figures in the same run.

As in ``bench_fleet.py``: every bot holds a position and has orders open, every
portfolio limit is set (and holds), and each order's bot has a new state twice per
order of its own (its reservation, then its update, which most often comes after the
next order's decision), so the figures kept for the other bots' states serve the
next orders while one or two states are new. Only the veto is
timed (``time.process_time_ns`` around each call); building the states is not.

Also one engine's tick of the portfolio's halts and warnings (``FleetGate.tripped``
and ``new_warnings``) every 50 orders, as 20 engines ticking once a second do at
1,000 orders a second.

Usage: scripts/bench_veto.py [--bots 20] [--orders 20000] [--accounts 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.risk.fleet import FleetGate
from risk.exposure import carry_pending, pending_of
from risk.limits import LossLimit, PortfolioLimits
from risk.state import OpenOrder, PositionState, RiskState

SYMBOLS = ("BTCUSDT", "ETHUSDT")
MARKS = {"BTCUSDT": Decimal("65000.5"), "ETHUSDT": Decimal("3200.25")}
LIMITS = PortfolioLimits(max_daily_loss=LossLimit(pct=50), max_drawdown=LossLimit(pct=50),
                         max_gross_notional=1e9, max_notional_per_symbol=1e9, max_leverage=1000)


def first_state(rng: random.Random) -> RiskState:
    """A bot a while into its day: a position in each symbol, a few orders open."""
    positions = {s: PositionState(qty=Decimal(rng.randint(-50, 50)) / 1000,
                                  avg_price=MARKS[s] - 10, mark_price=MARKS[s])
                 for s in SYMBOLS}
    orders = {f"o{i}": OpenOrder(symbol=rng.choice(SYMBOLS), side=rng.choice(("buy", "sell")),
                                 qty=Decimal("0.001"), price=Decimal("65000"), ts=0.0)
              for i in range(rng.randint(0, 6))}
    cash = Decimal(rng.randint(9_000, 11_000))
    state = RiskState(day="2026-12-07", cash=cash, start_equity=cash, high_water=cash + 5,
                      positions=positions, open_orders=orders)
    pending_of(state)
    return state


def reserved(state: RiskState, request_id: str, symbol: str) -> RiskState:
    """The bot's state after its order was allowed: the order's quantity reserved."""
    orders = dict(state.open_orders)
    orders[request_id] = OpenOrder(symbol=symbol, side="buy", qty=Decimal("0.001"),
                                   price=MARKS[symbol], ts=0.0)
    after = msgspec.structs.replace(state, open_orders=orders)
    return carry_pending(state, after, symbol, "buy", Decimal("0.001"))


def updated(state: RiskState, request_id: str, symbol: str) -> RiskState:
    """The bot's state after the order's update (cancelled): the reservation freed."""
    orders = dict(state.open_orders)
    del orders[request_id]
    after = msgspec.structs.replace(state, open_orders=orders)
    return carry_pending(state, after, symbol, "buy", Decimal("-0.001"))


class Engine:
    """As ``RiskEngine`` shows its state to the gate: through a property, each new state
    told to the gate (``agents/risk/_tracked.py``) unless ``tells_moves`` is False."""

    def __init__(self, state: RiskState, *, tells: bool) -> None:
        self._state = state
        self.tells_moves = tells
        self.told: tuple[FleetGate, str] | None = None

    @property
    def state(self) -> RiskState:
        return self._state

    @state.setter
    def state(self, state: RiskState) -> None:
        self._state = state
        if self.told is not None:
            self.told[0].moved(self.told[1])


def update(engine: Engine, request_id: str, symbol: str) -> None:
    engine.state = updated(engine.state, request_id, symbol)


def order_of(symbol: str) -> Any:
    ctx = SimpleNamespace(order=SimpleNamespace(symbol=symbol))
    ctx.__dict__["exposure_after"] = (Decimal("2600.02"), Decimal("65.0005"))
    return ctx


LATE_UPDATES = 0.78
"""Orders whose update comes after the next order's decision: in ``bench_fleet.py``,
the states the veto finds new were 1.78 an order (one order's reservation, and the
update of the one before)."""
TICK_EVERY = 50
"""Orders between two engines' ticks: 20 engines tick once a second, 1,000 orders a second."""


def run(bots: int, orders: int, accounts: int, seed: int, *,
        tells: bool = True) -> tuple[float, ...]:
    """(timer floor, raw sum, veto, one engine's tick of the portfolio): CPU µs an order
    (the tick: µs a tick), each over the same orders."""
    rng = random.Random(seed)
    ids = [f"bot{i:02d}" for i in range(bots)]
    gate = FleetGate(accounts={b: f"acct{i % accounts}" for i, b in enumerate(ids)},
                     limits=LIMITS)
    engines = {b: Engine(first_state(rng), tells=tells) for b in ids}
    for bot_id, engine in engines.items():
        gate.attach(bot_id, engine)  # type: ignore[arg-type]
        engine.told = (gate, bot_id) if tells else None
    floor = raw = veto = tick = 0
    late: partial[None] | None = None
    clock = time.process_time_ns
    for n in range(orders):
        bot_id, symbol = rng.choice(ids), rng.choice(SYMBOLS)
        engine, ctx = engines[bot_id], order_of(symbol)
        if late is not None and late.args[0] is engine:  # a bot's update before its order
            late()
            late = None
        ledgers: list[Any] = [(e.state.cash, e.state.start_equity, e.state.high_water)
                              for e in engines.values()]
        start = clock()
        floor += clock() - start
        start = clock()
        total = Decimal(0)
        for cash, first, top in ledgers:  # the additions a sum over the bots makes
            total += cash + first + top
        raw += clock() - start
        start = clock()
        found = gate.veto(bot_id, ctx)
        veto += clock() - start
        assert found is None, found
        request_id = f"r{n}"
        engine.state = reserved(engine.state, request_id, symbol)
        if late is not None:  # the last order's update, come after this order's decision
            late()
            late = None
        if rng.random() < LATE_UPDATES:
            late = partial(update, engine, request_id, symbol)
        else:
            update(engine, request_id, symbol)
        if n % TICK_EVERY == 0:  # an engine's tick: the portfolio's halts and warnings
            start = clock()
            gate.tripped(bot_id)
            gate.new_warnings("2026-12-07")
            tick += clock() - start
    return (floor / orders / 1e3, raw / orders / 1e3, veto / orders / 1e3,
            tick / (orders // TICK_EVERY) / 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", action="store_true",
                        help="engines that do not tell the gate of their new states: it "
                        "compares every engine's state at each order, as before 2026-12-07")
    args = parser.parse_args()
    found = [run(args.bots, args.orders, args.accounts, seed, tells=not args.compare)
             for seed in range(args.rounds)]
    best = [min(r[i] for r in found) for i in range(4)]
    print(f"{args.bots} bots, {args.accounts} account(s), {args.orders} orders, best of "
          f"{args.rounds} rounds, engines {'compared' if args.compare else 'telling'}, "
          "CPU µs an order:")
    print(f"  the timer alone                          {best[0]:6.2f} µs")
    print(f"  raw: summing 3 Decimals of every bot     {best[1]:6.2f} µs")
    print(f"  FleetGate.veto                           {best[2]:6.2f} µs")
    print(f"  an engine's tick (tripped, new_warnings) {best[3]:6.2f} µs a tick, "
          f"{best[3] / TICK_EVERY:.2f} µs an order at {TICK_EVERY} orders a tick")


if __name__ == "__main__":
    main()
