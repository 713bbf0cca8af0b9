#!/usr/bin/env python3
"""The risk engine's decision alone: CPU µs per ``risk.engine.decide`` on realistic states.

In-process and pure, so the figure holds still on a shared machine: use it for every
A/B of the rules. Each case evolves its state as the kernel does: an order is
decided on the state the last one left, then the oldest open order is ended by an
``order_update`` (not timed) so the book stays at its size. Cases:

- ``flat``: an anchored account, no position, no open order;
- ``64 open``: 64 allowed orders still open (64 in flight);
- ``10,000 open``: the most ``max_open_orders`` allows;
- ``positions``: long and short positions in four symbols, orders on all of them.

Printed beside a raw baseline measured in the same run: msgspec msgpack decode and
encode of the same ``OrderRequest`` (what the gateway does with each order anyway).
The figures are best and median over ``--repeats`` runs of ``--orders`` decisions.

Usage: scripts/bench_decide.py [--orders N] [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from bus.protocol import Heartbeat, OrderRequest, OrderUpdate, Position
from risk import RiskLimits, RiskState, SymbolLimits, apply_heartbeat, initial_state
from risk.engine import decide
from risk.orders import apply_order_update

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z
MARKS = {"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0, "SOLUSDT": 150.0, "XRPUSDT": 0.5}
LIMITS = RiskLimits(
    max_daily_loss={"pct": 50}, max_drawdown={"pct": 50},  # type: ignore[arg-type]
    max_trailing_drawdown={"pct": 50},  # type: ignore[arg-type]
    max_notional_per_symbol=1e9, max_leverage=1000.0, max_order_notional=1e6,
    max_orders_per_second=1e6, max_open_orders=10_000, open_order_ttl_s=60.0,
    stale_tick_s=3600.0,
    symbols={name: SymbolLimits(max_order_qty=1e6) for name in MARKS})
LIMITS = msgspec.convert(msgspec.to_builtins(LIMITS), RiskLimits)  # the dicts decoded, as loaded


def anchored(positions: dict[str, tuple[float, float]]) -> RiskState:
    """An ACTIVE state after one heartbeat of a 1,000,000 USDT account."""
    rows = [Position(symbol=s, qty=positions.get(s, (0.0, m))[0],
                     avg_price=positions.get(s, (0.0, m))[1], mark_price=m)
            for s, m in sorted(MARKS.items())]
    beat = Heartbeat(bot_id="bench", seq=1, ts=NOW, uptime_s=100.0, equity=1_000_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, positions=rows, last_tick_ts=NOW)
    state, _ = apply_heartbeat(initial_state(LIMITS, NOW), beat, LIMITS, NOW)
    return state


def order(i: int, symbols: tuple[str, ...]) -> OrderRequest:
    symbol = symbols[i % len(symbols)]
    mark = MARKS[symbol]
    return OrderRequest(request_id=f"bench-{i:08d}", bot_id="bench", ts=NOW, symbol=symbol,
                        side="buy" if i % 3 else "sell", qty=0.001 * (1 + i % 7),
                        price=mark * (1 + (i % 5 - 2) / 1000))


class Case:
    """A state kept at ``book`` open orders while orders are decided on it."""

    def __init__(self, name: str, book: int, positions: dict[str, tuple[float, float]],
                 symbols: tuple[str, ...]) -> None:
        self.name, self.book, self.symbols = name, book, symbols
        self.state = anchored(positions)
        self.next = 0
        self.open: list[str] = []
        while len(self.open) < book:
            self.step(timed=False)

    def step(self, *, timed: bool) -> int:
        """Decide one order (CPU ns when ``timed``), then end the oldest beyond the book."""
        request = order(self.next, self.symbols)
        now = NOW + self.next * 1e-4
        self.next += 1
        start = time.process_time_ns() if timed else 0
        decision, self.state = decide(request, self.state, LIMITS, now)
        spent = time.process_time_ns() - start if timed else 0
        if not decision.allowed:
            raise SystemExit(f"{self.name}: bench order denied: {decision.reason}")
        self.open.append(request.request_id)
        if len(self.open) > self.book:
            ended = OrderUpdate(request_id=self.open.pop(0), status="cancelled", ts=now)
            self.state, _ = apply_order_update(self.state, ended, now)
        return spent


def timer_cost(samples: int) -> float:
    """CPU ns of the two clock reads around each timed call, to take off."""
    spent = []
    for _ in range(samples):
        start = time.process_time_ns()
        spent.append(time.process_time_ns() - start)
    return statistics.median(spent)


def run(step: Callable[[], int], orders: int, overhead: float) -> float:
    gc.collect()
    total = sum(step() for _ in range(orders))
    return max(0.0, total / orders - overhead) / 1000


def baseline(orders: int, overhead: float) -> float:
    """µs to decode and encode one OrderRequest with msgpack, timed like a decision."""
    payload = msgspec.msgpack.encode(order(1, ("BTCUSDT",)))
    decoder, encoder = msgspec.msgpack.Decoder(OrderRequest), msgspec.msgpack.Encoder()

    def step() -> int:
        start = time.process_time_ns()
        encoder.encode(decoder.decode(payload))
        return time.process_time_ns() - start

    return run(step, orders, overhead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = [Case("flat", 0, {}, ("BTCUSDT",)),
             Case("64 open", 64, {}, ("BTCUSDT",)),
             Case("10,000 open", 9_999, {}, ("BTCUSDT", "ETHUSDT")),
             Case("positions", 64, {"BTCUSDT": (0.5, 48_000.0), "ETHUSDT": (-4.0, 2_600.0),
                                    "SOLUSDT": (100.0, 140.0), "XRPUSDT": (-10_000.0, 0.55)},
                  tuple(MARKS))]
    overhead = timer_cost(20_000)
    raw = [baseline(args.orders, overhead) for _ in range(args.repeats)]
    print(f"risk.engine.decide, CPU µs per decision, best / median of {args.repeats} x "
          f"{args.orders:,} (clock reads of {overhead / 1000:.2f} µs taken off)")
    print(f"  raw baseline: msgpack decode+encode of the OrderRequest  "
          f"{min(raw):6.2f} / {statistics.median(raw):6.2f} µs")
    for case in cases:
        figures = [run(lambda c=case: c.step(timed=True), args.orders, overhead)  # type: ignore[misc]
                   for _ in range(args.repeats)]
        best, median = min(figures), statistics.median(figures)
        print(f"  {case.name:<12} {best:6.2f} / {median:6.2f} µs  "
              f"({median / statistics.median(raw):5.1f}x the baseline)", flush=True)


if __name__ == "__main__":
    main()
