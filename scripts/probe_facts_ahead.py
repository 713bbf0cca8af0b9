#!/usr/bin/env python3
"""How often the gate decides ahead of facts at 64 in flight, and the rate.

Runs ``kernel run`` with the bench's limits (``scripts/bench_gate.py``), sends
``--orders`` orders through AsyncBotLink with 64 in flight (each followed by its
``order_update``, as the bench does), then counts the journal's rows per order:
requests, decisions, updates and ``order.ahead`` rows. ``--rounds N`` repeats it in
fresh kernels. Used to compare kernels A/B in one sitting (docs/perf/gate-stages.md).

Usage: scripts/probe_facts_ahead.py [--orders N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernel.journal import read_journal
from scripts._bench_support import running_kernel
from scripts.bench_gate import BENCH_LIMITS, link_pipelined

TOPICS = ("order.request", "order.decision", "order.update", "order.ahead")


def rows_per_topic(journal: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for topic in TOPICS:
        counts[topic] = len(read_journal(journal, topic_prefix=topic, limit=10_000_000))
    return counts


def main_thread_cpu(proc: psutil.Process) -> float:
    """CPU seconds of the kernel's main thread (the event loop: the gateway and the
    actors), the one that limits the rate; NaN where the OS does not say per thread."""
    for thread in proc.threads():
        if thread.id == proc.pid:
            return float(thread.user_time + thread.system_time)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.rounds):
        verdicts: Counter[str] = Counter()
        with running_kernel(risk_yaml=BENCH_LIMITS) as kernel:
            proc = psutil.Process(kernel.pid)
            before, main_before = sum(proc.cpu_times()[:2]), main_thread_cpu(proc)
            rate, _timings = asyncio.run(link_pipelined(kernel.link, args.orders, verdicts))
            cpu_us = (sum(proc.cpu_times()[:2]) - before) / args.orders * 1e6
            main_us = (main_thread_cpu(proc) - main_before) / args.orders * 1e6
            counts = rows_per_topic(kernel.root / "data" / "journal.sqlite3")
        requests = max(1, counts["order.request"])
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{args.orders} orders, 64 in flight: {rate:,.0f} decisions/s, kernel CPU "
              f"{cpu_us:.0f} µs an order (main thread {main_us:.0f} µs); rows: "
              + ", ".join(f"{t} {counts[t]:,}" for t in TOPICS)
              + f"; order.ahead per order {counts['order.ahead'] / requests:.3f}; "
              f"verdicts {dict(verdicts)}; load {load:.2f}", flush=True)


if __name__ == "__main__":
    main()
