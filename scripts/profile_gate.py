#!/usr/bin/env python3
"""Where the order gate's time goes: py-spy samples ``kernel run`` while a bare
DEALER sends orders at 1 in flight, then prints the share of samples per stage.

Usage: scripts/profile_gate.py [--closed] [--seconds S] [--out FILE]

``--closed`` runs without the risk engine (the gateway's fail-closed DENY, still
journaled before the reply). Needs ``py-spy`` on PATH (``pip install py-spy``);
the raw collapsed stacks go to ``--out`` for a closer look.
"""

from __future__ import annotations

import argparse
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
from scripts.bench_gate import BENCH_LIMITS, NO_RISK_ENGINE, cancelled, make_order, prepare

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
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("gate-profile.txt"))
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    extra = NO_RISK_ENGINE if args.closed else ""
    with running_kernel(kernel_extra=extra, risk_yaml=BENCH_LIMITS) as kernel:
        if not args.closed:
            prepare(kernel.link, "bench").close()
        stop = threading.Event()
        done = [0]
        driver = threading.Thread(target=drive, args=(kernel.link, stop, done, not args.closed))
        driver.start()
        time.sleep(1.0)  # warm up
        before, started = done[0], time.perf_counter()
        subprocess.run([spy, "record", "--pid", str(kernel.pid), "--rate", "2000",
                        "--duration", str(int(args.seconds)), "--format", "raw",
                        "--nonblocking", "--output", str(args.out)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        orders, elapsed = done[0] - before, time.perf_counter() - started
        stop.set()
        driver.join()
    stages: Counter[str] = Counter()
    for line in args.out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stages[stage_of(stack)] += int(count)
    total = sum(stages.values())
    per_order_us = elapsed * 1e6 / max(1, orders)
    print(f"{'closed' if args.closed else 'full'} gate, {orders} orders, "
          f"{total} samples; ~{per_order_us:.0f} µs of wall time per order")
    for name, count in stages.most_common():
        print(f"  {name:42s} {100 * count / total:5.1f} %  ~{per_order_us * count / total:6.1f} µs")


if __name__ == "__main__":
    main()
