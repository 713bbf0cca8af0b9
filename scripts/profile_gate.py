#!/usr/bin/env python3
"""Where the order gate's time goes: py-spy samples ``kernel run`` while a bare
DEALER sends orders at 1 in flight, then prints the share of samples per stage.

Usage: scripts/profile_gate.py [--closed | --in-flight] [--seconds S] [--out FILE] [--gil]

``--in-flight`` drives the bench's AsyncBotLink run instead (64 in flight, each
order followed by its ``order_update``, ``bench_gate.link_pipelined``).

``--closed`` runs without the risk engine (the gateway's fail-closed DENY, still
journaled before the reply). Needs ``py-spy`` on PATH (``pip install py-spy``);
the raw collapsed stacks go to ``--out`` for a closer look. ``--gil`` keeps only
the samples of the thread that holds the GIL: the Python work itself, without the
time a thread spends in a socket call or waiting to get the GIL back.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.codec import encode
from scripts._bench_support import dealer, running_kernel
from scripts.bench_gate import (
    BENCH_LIMITS,
    NO_RISK_ENGINE,
    WINDOW,
    cancelled,
    link_pipelined,
    make_order,
    prepare,
)

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("risk engine decide", ("decide (agents/risk",)),
    ("journal: sqlite execute (insert+commit)", ("_write_inline",)),
    ("journal: bind (severity, hash chain)", ("_bind (kernel/journal.py",)),
    ("journal: jsonl copy", ("_jsonl.py",)),
    ("journal: queue/commit bookkeeping", ("append_waitable", "commit_now", "_committed",
                                           "append (kernel/journal.py")),
    ("encode (msgspec) of request/decision", ("encode (bus/codec.py",)),
    ("publish to local subscribers", ("send_raw (bus/pubsub.py",)),
    ("reply send", ("_send_quietly",)),
    ("receive + decode", ("_on_frames", "recv_multipart", "_drain")),
    ("risk engine: facts on the gateway's path", ("take_fact (agents/risk",)),
    ("actors' turns on bus copies", ("_feed (kernel/_runner.py",)),
    ("other threads (JSONL writer, sqlite readers)", ("Thread._bootstrap",)),
    ("asyncio loop / selector wait", ("select (selectors.py", "_run_once")),
)
"""A sample counts for the first stage whose marker is on its stack (innermost first)."""


def drive(endpoint: str, stop: threading.Event, done: list[int], end_orders: bool) -> None:
    """Orders at 1 in flight until ``stop``; with ``end_orders`` each ends with a cancel,
    so reservations stay few (the closed gate reserves nothing). ``done[0]`` counts the
    orders answered so far."""
    sock = dealer(endpoint, hello_as="bench")
    try:
        while not stop.is_set():
            order = make_order("prof", done[0], "bench")
            sock.send(encode(order))
            sock.recv()
            if end_orders:
                sock.send(encode(cancelled(order)))
            done[0] += 1
    finally:
        sock.close()


def drive_in_flight(endpoint: str, total: int, done: list[int]) -> None:
    """One AsyncBotLink run of ``total`` orders at WINDOW in flight, long enough to
    outlast the sampling (the time after it is not sampled)."""
    asyncio.run(link_pipelined(endpoint, total, Counter()))
    done[0] = total


def stage_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, markers in STAGES:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--closed", action="store_true")
    parser.add_argument("--in-flight", action="store_true",
                        help=f"{WINDOW} orders in flight through AsyncBotLink")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("gate-profile.txt"))
    parser.add_argument("--gil", action="store_true",
                        help="count only samples of the thread holding the GIL (py-spy --gil)")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    extra = NO_RISK_ENGINE if args.closed else ""
    with running_kernel(kernel_extra=extra, risk_yaml=BENCH_LIMITS) as kernel:
        if not args.closed:
            prepare(kernel.link, "bench").close()
        stop = threading.Event()
        done = [0]
        if args.in_flight:  # at most ~8,000/s here: twice the orders the sampling needs
            total = int(8_000 * (args.seconds + 4))
            driver = threading.Thread(target=drive_in_flight, args=(kernel.link, total, done))
        else:
            driver = threading.Thread(target=drive,
                                      args=(kernel.link, stop, done, not args.closed))
        driver.start()
        time.sleep(1.0 + (3.0 if args.in_flight else 0.0))  # warm up (and the link's hello)
        before, started = done[0], time.perf_counter()
        subprocess.run([spy, "record", "--pid", str(kernel.pid), "--rate", "2000",
                        "--duration", str(int(args.seconds)), "--format", "raw",
                        "--nonblocking", "--output", str(args.out),
                        *(["--gil"] if args.gil else [])], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        orders, elapsed = done[0] - before, time.perf_counter() - started
        stop.set()
        driver.join()
    stages: Counter[str] = Counter()
    for line in args.out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stages[stage_of(stack)] += int(count)
    total = sum(stages.values())
    if args.in_flight:  # the orders answered while sampling are not counted: shares only
        print(f"{WINDOW} in flight gate, {total} samples over {elapsed:.1f} s")
        for name, count in stages.most_common():
            print(f"  {name:44s} {100 * count / total:5.1f} %")
        return
    per_order_us = elapsed * 1e6 / max(1, orders)
    print(f"{'closed' if args.closed else 'full'} gate, {orders} orders, "
          f"{total} samples; ~{per_order_us:.0f} µs of wall time per order")
    for name, count in stages.most_common():
        print(f"  {name:44s} {100 * count / total:5.1f} %  ~{per_order_us * count / total:6.1f} µs")


if __name__ == "__main__":
    main()
