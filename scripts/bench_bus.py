#!/usr/bin/env python3
"""Kernel-routed pub/sub throughput beside raw pyzmq PUB/SUB, in the same run.

A publisher process sends N heartbeat-sized msgpack messages as fast as it can;
this process subscribes and counts. Raw: the publisher binds and the subscriber
connects directly. Kernel-routed: both connect to ``kernel run``'s bus over
loopback TCP: the publisher to the intake proxy, the subscriber to the main
proxy (two C proxy hops; the kernel's recorder journals every frame beside).
Nothing may be dropped for a run to count; drops are printed.
Usage: scripts/bench_bus.py [--messages N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.codec import encode, encode_header
from bus.protocol import Heartbeat, Position
from scripts._bench_support import free_ports, running_kernel, start_script

PUBLISHER = """
import sys, time, zmq
endpoint, mode, count, payload_hex, header_hex = sys.argv[1:6]
payload, header = bytes.fromhex(payload_hex), bytes.fromhex(header_hex)
sock = zmq.Context().socket(zmq.PUB)
sock.sndhwm = 0
(sock.bind if mode == "bind" else sock.connect)(endpoint)
time.sleep(1.0)  # let the subscription reach this publisher (slow joiner)
frames = (b"bench.heartbeat", payload, header)
for _ in range(int(count)):
    sock.send_multipart(frames)
sock.send_multipart((b"bench.end", b"", header))
sock.close(linger=5000)
"""


def payload() -> bytes:
    positions = [Position(symbol="BTCUSDT", qty=0.25, avg_price=50_000.0, mark_price=50_100.0)]
    return encode(Heartbeat(bot_id="bench-bot", seq=123_456, ts=time.time(), uptime_s=3600.0,
                            equity=10_250.5, realized_pnl=120.25, unrealized_pnl=25.0,
                            positions=positions, last_tick_ts=time.time(),
                            last_tick_price=50_100.0))


def measure(sub_endpoint: str, pub_endpoint: str, pub_mode: str, count: int) -> tuple[float, int]:
    """Messages per second seen by the subscriber, and how many were received."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    sock.rcvhwm = 0
    sock.linger = 0
    sock.subscribe(b"bench.")
    sock.connect(sub_endpoint)
    publisher = start_script(PUBLISHER, pub_endpoint, pub_mode, str(count), payload().hex(),
                             encode_header("bench").hex())
    received, first = 0, 0.0
    try:
        while True:
            if not sock.poll(15_000):
                break
            topic = sock.recv_multipart()[0]
            if topic == b"bench.end":
                break
            if received == 0:
                first = time.perf_counter()
            received += 1
        elapsed = time.perf_counter() - first
    finally:
        publisher.wait(30)
        sock.close()
    return (received / elapsed if received and elapsed > 0 else 0.0), received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()

    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    raw_rate, raw_received = measure(endpoint, endpoint, "bind", args.messages)
    with running_kernel() as kernel:
        bus_rate, bus_received = measure(kernel.sub, kernel.pub, "connect", args.messages)

    print(f"pub/sub, one process to another, {args.messages:,} messages of "
          f"{len(payload())} bytes")
    print(f"raw pyzmq PUB -> SUB              {raw_rate:12,.0f} msgs/s  "
          f"(received {raw_received:,}, dropped {args.messages - raw_received:,})")
    print(f"kernel bus PUB -> intake -> bus -> SUB {bus_rate:7,.0f} msgs/s  "
          f"(received {bus_received:,}, dropped {args.messages - bus_received:,})")
    print(f"ratio kernel/raw {bus_rate / raw_rate:.2f} (budget >= 0.50)" if raw_rate else "")


if __name__ == "__main__":
    main()
