#!/usr/bin/env python3
"""Bot-link round trips through ``kernel run`` beside a raw pyzmq echo, same run.

Measures, from this process acting as the bot:
  * raw pyzmq DEALER/ROUTER echo of the order payload (the floor);
  * ``hello`` -> ``welcome`` through the gateway;
  * ``order_request`` -> ``order_decision`` through the gateway, journaled
    (durable group commit) before the reply;
  * both again pipelined with 64 requests in flight, as decisions per second.
Usage: scripts/bench_gateway.py [--samples N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.codec import encode
from bus.protocol import Hello, OrderRequest
from scripts._bench_support import (
    dealer,
    free_ports,
    percentiles,
    row,
    running_kernel,
    start_script,
)

ECHO_SERVER = """
import sys, zmq
sock = zmq.Context().socket(zmq.ROUTER)
sock.bind(sys.argv[1])
while True:
    frames = sock.recv_multipart()
    if frames[-1] == b"quit":
        break
    sock.send_multipart(frames)
"""


def order_payload(i: int) -> bytes:
    return encode(OrderRequest(request_id=f"bench-{i:08d}", bot_id="bench-bot", ts=time.time(),
                               symbol="BTCUSDT", side="buy", qty=0.001, price=50_000.0,
                               order_type="limit", reduce_only=False, leverage=1.0))


def round_trips(endpoint: str, make: Callable[[int], bytes], samples: int, *,
                hello_as: str = "") -> list[float]:
    """Round trips one at a time; each payload is made just before it is timed (an
    order stamped ahead reads to the kernel's auditor as decided that much later)."""
    sock = dealer(endpoint, hello_as=hello_as)
    timings: list[float] = []
    try:
        for i in range(samples + 500):
            payload = make(i)
            start = time.perf_counter()
            sock.send(payload)
            sock.recv()
            if i >= 500:  # the first 500 warm up caches and connections
                timings.append(time.perf_counter() - start)
    finally:
        sock.close()
    return timings


def pipelined(endpoint: str, make: Callable[[int], bytes], total: int, window: int = 64, *,
              hello_as: str = "") -> float:
    """Messages per second with ``window`` requests always in flight; each payload is
    made when it is sent, as a bot makes its orders."""
    sock = dealer(endpoint, hello_as=hello_as)
    sent = received = 0
    start = time.perf_counter()
    try:
        while received < total:
            while sent < total and sent - received < window:
                sock.send(make(sent))
                sent += 1
            sock.recv()
            received += 1
    finally:
        sock.close()
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    hello = encode(Hello(bot_id="bench-bot", mode="paper", pid=1, version="bench"))

    echo_endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    echo = start_script(ECHO_SERVER, echo_endpoint)
    try:
        raw = percentiles(round_trips(echo_endpoint, order_payload, args.samples))
        raw_rate = pipelined(echo_endpoint, order_payload, 20 * args.samples // 5)
        quit_sock = dealer(echo_endpoint)
        quit_sock.send(b"quit")
        echo.wait(5)
    finally:
        echo.kill()

    with running_kernel() as kernel:
        welcome = percentiles(round_trips(kernel.link, lambda i: hello, args.samples))
        gate = percentiles(round_trips(kernel.link, order_payload, args.samples,
                                       hello_as="bench-bot"))
        gate_rate = pipelined(kernel.link, lambda i: order_payload(10**7 + i),
                              20 * args.samples // 5, hello_as="bench-bot")

    print(f"bot link round trips, {args.samples} samples each, 1 in flight "
          f"({len(order_payload(0))}-byte order payload)")
    print(row("raw pyzmq DEALER/ROUTER echo", raw))
    print(row("gateway hello -> welcome", welcome))
    print(row("gateway order -> decision (journaled)", gate))
    print(f"ratio p50 hello/raw {welcome['p50'] / raw['p50']:.2f}x, "
          f"order/raw {gate['p50'] / raw['p50']:.2f}x; "
          f"order p99 {gate['p99'] / 1000:.2f} ms")
    print(f"64 in flight: raw echo {raw_rate:,.0f} msgs/s, gateway decisions {gate_rate:,.0f}/s "
          f"(ratio {gate_rate / raw_rate:.2f})")


if __name__ == "__main__":
    main()
