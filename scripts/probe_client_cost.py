#!/usr/bin/env python3
"""The bot library's CPU per order beside the kernel's, at 64 in flight.

On a machine with two cores the bot and the kernel share them, so every µs the
client library spends on an order is taken from the kernel too. This runs
``kernel run`` with the bench's limits (``scripts/bench_gate.py``) and, in one
kernel, alternately (``--rounds``): ``--orders`` orders through AsyncBotLink with 64
in flight (each followed by its ``order_update``, as the bench does), and the same
through a bare DEALER (the floor: encode, send, receive, nothing else). For each it
prints decisions/s, this process's CPU per order (``time.process_time``: every
thread, ZeroMQ's I/O thread included) and the kernel process's.

``--pause S`` waits S seconds before the first round, printing this process's pid:
the moment to attach a profiler (``py-spy record --pid PID``).

``--stand-in`` puts a minimal gateway in the kernel's place: a ROUTER in a child
process that reads every frame waiting, welcomes each hello and ALLOWs each order at
once (no risk engine, no journal). The kernel's ~100 µs an order then no longer sets
the pace, so the client's own cost is what the rate shows: the way to compare two
versions of the library A/B on a busy machine.

Usage: scripts/probe_client_cost.py [--orders N] [--rounds N] [--pause S] [--stand-in]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts._bench_support import free_ports, running_kernel, start_script
from scripts.bench_gate import BENCH_LIMITS, dealer_pipelined, link_pipelined, prepare

STAND_IN = """
import sys, zmq
from bus.codec import bot_frame_decoder, encode
from bus.protocol import Hello, OrderDecision, OrderRequest, Welcome
sock = zmq.Context().socket(zmq.ROUTER)
sock.bind(sys.argv[1])
welcome = encode(Welcome(heartbeat_interval_s=5.0, trading_state="ACTIVE"))
while True:
    sock.poll()
    while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
        identity, frame = sock.recv_multipart(zmq.NOBLOCK)
        message = bot_frame_decoder.decode(frame)
        if isinstance(message, OrderRequest):
            sock.send_multipart([identity, encode(OrderDecision(
                request_id=message.request_id, verdict="ALLOW", reason="stand-in",
                code="allowed", trading_state="ACTIVE", bot_id=message.bot_id))])
        elif isinstance(message, Hello):
            sock.send_multipart([identity, welcome])
"""


class StandIn:
    """What the probe needs of a kernel: the link endpoint and a pid."""

    def __init__(self, link: str, pid: int) -> None:
        self.link, self.pid = link, pid


@contextmanager
def stand_in() -> Iterator[StandIn]:
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    child = start_script(STAND_IN, endpoint)
    try:
        yield StandIn(endpoint, child.pid)
    finally:
        child.kill()
        child.wait(5)


def costs(kernel: psutil.Process, orders: int, run: Callable[[], float]) -> tuple[float, ...]:
    """decisions/s, client CPU µs an order, kernel CPU µs an order."""
    kernel_before, client_before = sum(kernel.cpu_times()[:2]), time.process_time()
    rate = run()
    client = (time.process_time() - client_before) / orders * 1e6
    return rate, client, (sum(kernel.cpu_times()[:2]) - kernel_before) / orders * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--link-only", action="store_true",
                        help="skip the bare DEALER (a profile of the link alone)")
    parser.add_argument("--stand-in", action="store_true",
                        help="a minimal gateway that ALLOWs every order, not kernel run")
    args = parser.parse_args()
    verdicts: Counter[str] = Counter()
    server = stand_in() if args.stand_in else running_kernel(risk_yaml=BENCH_LIMITS)
    with server as kernel:
        proc = psutil.Process(kernel.pid)
        if args.pause:
            print(f"pid {os.getpid()}, kernel {kernel.pid}; starting in {args.pause:g} s",
                  flush=True)
            time.sleep(args.pause)
        for n in range(1, args.rounds + 1):
            link = costs(proc, args.orders,
                         lambda: asyncio.run(link_pipelined(kernel.link, args.orders,
                                                            verdicts))[0])
            line = (f"round {n}: AsyncBotLink {link[0]:,.0f}/s, client {link[1]:.1f} µs, "
                    f"server {link[2]:.1f} µs an order")
            if not args.link_only:
                prepare(kernel.link, "bench").close()
                bare = costs(proc, args.orders,
                             lambda: dealer_pipelined(kernel.link, args.orders))
                line += (f"; bare DEALER {bare[0]:,.0f}/s, client {bare[1]:.1f} µs, "
                         f"server {bare[2]:.1f} µs an order")
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"{line}; load {load:.2f}", flush=True)
    print(f"verdicts {dict(verdicts)}")


if __name__ == "__main__":
    main()
