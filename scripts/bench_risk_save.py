#!/usr/bin/env python3
"""What one risk save costs the loop with thousands of open orders: every callback of
the loop timed while the save runs (its encode, the journal's commit, the JSONL copy),
the whole state in one row (as before the slices, and as a state with few orders
still is) beside the orders in slices (``agents.risk._parts``), in the same run.

Usage: scripts/bench_risk_save.py [--orders N] [--saves N] [--changed N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.risk._store import RiskStore
from kernel.journal import Journal
from risk import RiskLimits, RiskState, initial_state
from risk.state import OpenOrder

Timed = list[tuple[float, float]]
"""(wall, CPU) seconds of each callback of the loop."""


def timing_callbacks(into: Timed) -> Callable[[], None]:
    """Time every callback the loop runs into ``into``; returns the undo."""
    handle: Any = asyncio.events.Handle
    run = handle._run

    def timed(self: asyncio.Handle) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        run(self)
        into.append((time.perf_counter() - wall, time.thread_time() - cpu))

    handle._run = timed
    return lambda: setattr(handle, "_run", run)


def order(i: int, now: float) -> OpenOrder:
    return OpenOrder(symbol="BTCUSDT", side="buy", qty=Decimal("0.001"),
                     price=Decimal("50000.5"), ts=now + i / 1000)


def moved(state: RiskState, changed: int, step: int, now: float) -> RiskState:
    """The state after ``changed`` orders ended and as many new ones were allowed,
    the rest the very objects they were (as the engine leaves them)."""
    orders = dict(state.open_orders)
    for key in list(orders)[:changed]:
        del orders[key]
    for i in range(changed):
        orders[f"bench-{step}-{i:06d}-{os.getpid()}"] = order(i, now)
    return msgspec.structs.replace(state, open_orders=orders)


async def one_save(store: RiskStore, state: RiskState, sliced: bool, into: Timed) -> None:
    undo = timing_callbacks(into)
    try:
        if sliced:
            await store.keep_orders(lambda: state)
        await store.save(state)
        await asyncio.sleep(0.08)  # the JSONL copy formats the rows in a later turn
    finally:
        undo()


async def measure(sliced: bool, orders: int, saves: int, changed: int) -> list[Timed]:
    now = time.time()
    state = initial_state(RiskLimits(), now)
    state = msgspec.structs.replace(state, open_orders={
        f"bench-0-{i:06d}-{os.getpid()}": order(i, now) for i in range(orders)})
    with tempfile.TemporaryDirectory() as tmp:
        async with await Journal.open(Path(tmp) / "j.sqlite3", jsonl_dir=Path(tmp) / "jsonl") \
                as journal:
            store = RiskStore(journal, source="risk", clock=time.time)
            timed: list[Timed] = []
            for step in range(saves):
                timed.append([])
                await one_save(store, state, sliced, timed[-1])
                state = moved(state, changed, step + 1, now)
            return timed


def report(label: str, timed: list[Timed]) -> None:
    def figures(saves: list[Timed]) -> str:
        longest = max(max(w for w, _ in t) for t in saves) * 1000
        longest_cpu = max(max(c for _, c in t) for t in saves) * 1000
        cpu = statistics.median(sum(c for _, c in t) for t in saves) * 1000
        over = statistics.median(sum(1 for w, _ in t if w > 0.001) for t in saves)
        return (f"longest callback {longest:6.2f} ms wall / {longest_cpu:5.2f} ms CPU; "
                f"CPU a save {cpu:6.2f} ms; callbacks over 1 ms a save {over:.0f}")
    print(f"{label:<34} first save:  {figures(timed[:1])}")
    print(f"{'':<34} later saves: {figures(timed[1:])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--saves", type=int, default=12)
    parser.add_argument("--changed", type=int, default=50,
                        help="orders ended and as many allowed between two saves")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")  # not on Windows
    print(f"{args.orders:,} open orders, {args.saves} saves, {args.changed} changed "
          f"between two; load average {load:.2f}")
    for label, sliced in (("whole state in one row (baseline)", False),
                          ("open orders in slices", True)):
        report(label, asyncio.run(measure(sliced, args.orders, args.saves, args.changed)))


if __name__ == "__main__":
    main()
