#!/usr/bin/env python3
"""``kernel replay`` of a day of 100,000 orders, beside the live gate, same run.

The bench writes a real journal file: a kernel start, then an order every half
second for 100,000 orders (each decided by the pure engine with the shipped
``config/risk.yaml``, the allowed ones filled at once), a heartbeat every second,
and the engine's save every ten minutes: about 350,000 rows, as ``kernel run``
journals them. It measures:
  * the replay as ``kernel replay`` runs it (read-only read, decode, replay,
    report) with the shipped limits (every decision the same) and with a tighter
    ``max_order_notional`` (every allowed order flips), each ``--repeat`` times:
    the best and the median are printed (the machine is shared; the best is
    the replay's own cost, the median what a loaded machine gives);
  * the same through the command line, ``kernel replay --json``;
  * the baselines: the bare pure ``decide`` over the same 100,000 orders (the
    floor of any replay), and the live gate's decisions/s through ``kernel run``
    with 64 orders in flight (scripts/bench_gate.py's measure).
Budget (docs/replay.md): the 100,000-order day replays in under 10 s.

Usage: scripts/bench_replay.py [--orders N] [--gate-orders N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.risk.replay_journal import cycle_collection_paused, read_window
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, Message, OrderRequest, Position, Side
from kernel.config import load_yaml
from kernel.emitter import tag_of
from kernel.events import KernelStateChanged
from kernel.journal import Journal, JournalEntry
from risk import (
    RiskLimits,
    RiskState,
    apply_fill,
    apply_heartbeat,
    decide,
    initial_state,
    order_decision,
)
from risk.messages import RiskStateSaved
from risk.rerun import rerun
from risk.rerun_report import report
from scripts._bench_support import ROOT, running_kernel
from scripts.bench_gate import BENCH_LIMITS, link_pipelined

START = 1_790_000_000.0 - 1_790_000_000.0 % 86_400 + 600  # 00:10 UTC on a day in 2026
MARK = 2_500.0
SAVE_EVERY_S = 600.0


def heartbeat(ts: float, held: float, seq: int) -> Heartbeat:
    return Heartbeat(bot_id="qe-bench", seq=seq, ts=ts, uptime_s=ts - START, equity=10_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, last_tick_ts=ts,
                     positions=[Position(symbol="ETHUSDT", qty=held, avg_price=MARK,
                                         mark_price=MARK)])


def day_order(i: int, ts: float, held: float) -> OrderRequest:
    """Buy then sell 0.1 ETH, and every 20th order a fat finger (10 ETH) to deny."""
    qty = 10.0 if i % 20 == 19 else 0.1
    side: Side = "buy" if held <= 0 else "sell"
    return OrderRequest(request_id=f"o{i:08d}", bot_id="qe-bench", ts=ts, symbol="ETHUSDT",
                        side=side, qty=qty, price=MARK, order_type="limit")


class Writer:
    """The live gate in miniature, journaling every fact as ``kernel run`` does."""

    def __init__(self, journal: Journal, limits: RiskLimits) -> None:
        self.journal, self.limits = journal, limits
        self.state: RiskState = initial_state(limits, START)
        self.orders: list[tuple[float, OrderRequest]] = []

    def add(self, ts: float, message: Message) -> None:
        self.journal.append(JournalEntry(ts, message.topic, "bench", tag_of(message),
                                         encode(message)))

    def beat(self, ts: float, seq: int, held: float) -> None:
        hb = heartbeat(ts, held, seq)
        self.add(ts, hb)
        self.state, _ = apply_heartbeat(self.state, hb, self.limits, ts)

    def order(self, i: int, ts: float, held: float) -> float:
        request = day_order(i, ts, held)
        self.orders.append((ts, request))
        self.add(ts, request)
        decision, self.state = decide(request, self.state, self.limits, ts)
        self.add(ts, order_decision(request, decision, self.state.trading_state, ts))
        if not decision.allowed:
            return held
        done = Fill(request_id=request.request_id, symbol="ETHUSDT", side=request.side,
                    qty=request.qty, price=MARK, fee=0.0, ts=ts + 0.01, bot_id="qe-bench")
        self.add(ts + 0.01, done)
        self.state, _ = apply_fill(self.state, done, self.limits, ts + 0.01)
        return held + (request.qty if request.side == "buy" else -request.qty)


async def write_day(path: Path, limits: RiskLimits,
                    orders: int) -> list[tuple[float, OrderRequest]]:
    journal = await Journal.open(path)
    writer = Writer(journal, limits)
    writer.add(START, KernelStateChanged(state="starting", ts=START))
    held, saved = 0.0, START
    try:
        for i in range(orders):
            ts = START + 1 + i * 0.5
            if i % 2 == 0:
                writer.beat(ts - 0.25, i // 2 + 1, held)
            held = writer.order(i, ts, held)
            if ts - saved >= SAVE_EVERY_S:
                saved = ts
                writer.add(ts + 0.02, RiskStateSaved(ts=ts + 0.02, state=writer.state))
            if i % 2048 == 0:
                await journal.flush()
        await journal.flush()
    finally:
        await journal.close()
    return writer.orders


def bare_decide(limits: RiskLimits, orders: list[tuple[float, OrderRequest]]) -> float:
    """The pure decisions alone, on one anchored state: the floor of a replay."""
    state = initial_state(limits, START)
    state, _ = apply_heartbeat(state, heartbeat(START, 0.0, 0), limits, START)
    started = time.perf_counter()
    for ts, request in orders:
        _, state = decide(request, state, limits, ts)
    return time.perf_counter() - started


def timed_replay(path: Path, limits: RiskLimits,
                 repeat: int) -> tuple[list[tuple[float, float, float]], Counter[str], int]:
    """(read, replay, report) seconds of each of ``repeat`` runs, as ``kernel replay``
    does them (``replay_window``), the verdicts, and the orders replayed."""
    runs, cpus = [], []
    for _ in range(repeat):
        t0, cpu = time.perf_counter(), time.process_time()
        with cycle_collection_paused():  # as kernel replay does (replay_window)
            window = read_window(path, START - 600, START + 86_400)
            t1 = time.perf_counter()
            ran = rerun(window.rows, limits, since=window.start)
            t2 = time.perf_counter()
            found = report(ran, window.live_trips)
        runs.append((t1 - t0, t2 - t1, time.perf_counter() - t2))
        cpus.append(time.process_time() - cpu)
    verdicts = Counter({"same": found.counts.same,
                        "allow_to_deny": sum(found.counts.allow_to_deny.values())})
    print(f"  (CPU seconds of this process per replay: {', '.join(f'{c:.2f}' for c in cpus)})")
    return runs, verdicts, found.counts.orders


def line(label: str, runs: list[tuple[float, float, float]], count: int,
         verdicts: Counter[str]) -> str:
    totals = sorted(sum(run) for run in runs)
    best = min(runs, key=sum)
    return (f"{label:<24} best {totals[0]:6.2f} s, median {statistics.median(totals):6.2f} s "
            f"of {len(runs)} ({count / totals[0]:,.0f} orders/s; read {best[0]:.2f} s, replay "
            f"{best[1]:.2f} s, report {best[2]:.2f} s) {dict(verdicts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--gate-orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="replays per set of limits")
    args = parser.parse_args()
    limits = load_yaml(ROOT / "config" / "risk.yaml", RiskLimits)
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        root = Path(tmp)
        path = root / "data" / "journal.sqlite3"
        path.parent.mkdir()
        began = time.perf_counter()
        orders = asyncio.run(write_day(path, limits, args.orders))
        written = time.perf_counter() - began
        floor = bare_decide(limits, orders)
        same, same_verdicts, count = timed_replay(path, limits, args.repeat)
        tight_path = root / "tight.yaml"
        tight_path.write_text((ROOT / "config" / "risk.yaml").read_text(encoding="utf-8")
                              .replace("max_order_notional: 2500", "max_order_notional: 200"),
                              encoding="utf-8")
        tight, flipped, _ = timed_replay(path, load_yaml(tight_path, RiskLimits), args.repeat)
        cli_s = cli_replay(root, path, tight_path)
        size = path.stat().st_size
    verdicts: Counter[str] = Counter()
    with running_kernel(risk_yaml=BENCH_LIMITS) as kernel:
        gate_rate, _ = asyncio.run(link_pipelined(kernel.link, args.gate_orders, verdicts))
    print(f"a day of {count:,} orders journaled ({size / 1e6:.1f} MB, "
          f"written in {written:.1f} s)")
    print(line("replay, limits in force", same, count, same_verdicts))
    print(line("replay, tighter limits", tight, count, flipped))
    same_s = min(sum(run) for run in same)
    tight_s = min(sum(run) for run in tight)
    print(f"kernel replay --json (CLI, tighter, process start included): {cli_s:6.2f} s")
    print(f"baseline, bare pure decide: {floor:6.2f} s  {count / floor:10,.0f} orders/s "
          f"(replay at {floor / same_s:.2f}x its rate)")
    print(f"baseline, live gate through kernel run, 64 in flight: {gate_rate:,.0f} decisions/s "
          f"{dict(verdicts)}; replay is {count / same_s / gate_rate:.1f}x the live gate's rate")
    met = "met" if max(same_s, tight_s) * 100_000 / count < 10 else "MISSED"
    print(f"budget: 100,000 orders in < 10 s: {met}")


def cli_replay(root: Path, path: Path, risk: Path) -> float:
    """``kernel replay --json`` as a person runs it, on the bench's journal."""
    config = root / "config"
    config.mkdir()
    for shipped in sorted((ROOT / "config").glob("*.yaml")):
        (config / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    (config / "paths.yaml").write_text(f"data_dir: {path.parent.as_posix()}\nlog_dir: logs\n",
                                       encoding="utf-8")
    day = time.strftime("%Y-%m-%d", time.gmtime(START))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kernel.console.cli", "--config-dir",
                           str(config), "replay", "--day", day, "--risk", str(risk), "--json"],
                          cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kernel replay failed: {done.stderr.decode(errors='replace')}")
    return elapsed


if __name__ == "__main__":
    main()
