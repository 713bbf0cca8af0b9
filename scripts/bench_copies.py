#!/usr/bin/env python3
"""The cost of a burst's bus copies in the kernel's publisher, beside a raw PUB send.

A burst of 64 orders at 64 in flight leaves four copies an order on the bus
(request, decision, update, exposure), held while the replies go and released
after them (:meth:`bus.pubsub.Publisher.hold`). This times hold, the 256
``send_raw`` calls and ``release`` per order, with one local subscription that
takes one topic of the four (the risk engine's), three ways: no process
subscribed behind the proxy (``kernel run`` alone), a SUB subscribed to
everything (``kernel tap``), and a raw pyzmq PUB sending the same frames with no
subscriber, in the same run.

Usage: scripts/bench_copies.py [--bursts N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.proxy import INPROC_PUBLISH, BusProxy
from bus.pubsub import Publisher

TOPICS = ("order.request", "order.decision", "order.update", "risk.exposure")
PAYLOAD = b"x" * 200
IN_FLIGHT = 64


def per_order(burst: Callable[[], None], bursts: int) -> tuple[float, float]:
    """Median and best µs an order over ``bursts`` bursts."""
    times = []
    for _ in range(bursts):
        start = time.perf_counter()
        burst()
        times.append((time.perf_counter() - start) / IN_FLIGHT * 1e6)
    return statistics.median(times), min(times)


def kernel_burst(publisher: Publisher) -> Callable[[], None]:
    local = publisher.subscribe_local(("order.update",), bots=("bench",))

    def burst() -> None:
        publisher.hold()
        for _ in range(IN_FLIGHT):
            for topic in TOPICS:
                publisher.send_raw(topic, PAYLOAD, journaled=True, bot_id="bench")
        publisher.release()
        local._frames.clear()  # the engine's turn is not what is timed here
        local._bytes = 0
    return burst


def raw_burst(sock: zmq.Socket[Any]) -> Callable[[], None]:
    header, more = b"h" * 12, int(zmq.SNDMORE)

    def burst() -> None:
        for _ in range(IN_FLIGHT):
            for topic in TOPICS:
                sock.send(topic.encode(), more)
                sock.send(PAYLOAD, more)
                sock.send(header)
    return burst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=500)
    args = parser.parse_args()
    context: zmq.Context[Any] = zmq.Context()
    proxy = BusProxy(context, subscribe_endpoints=["tcp://127.0.0.1:*"])
    proxy.start()
    publisher = Publisher(context, INPROC_PUBLISH, source="gateway")
    raw: zmq.Socket[bytes] = context.socket(zmq.PUB)
    raw.bind("inproc://bench-copies")
    tap: zmq.Socket[bytes] = context.socket(zmq.SUB)
    try:
        time.sleep(0.2)
        rows = [("raw PUB send, no subscriber", per_order(raw_burst(raw), args.bursts)),
                ("kernel publisher, no subscriber", per_order(kernel_burst(publisher),
                                                              args.bursts))]
        tap.rcvhwm = 0
        tap.subscribe(b"")
        tap.connect(proxy.subscribe_bound[-1])
        while b"" not in publisher.subscriptions():
            time.sleep(0.01)
        rows.append(("kernel publisher, a tap on everything",
                     per_order(kernel_burst(publisher), min(args.bursts, 100))))
        tap.close(linger=0)
        time.sleep(0.2)  # the proxy lets go of the tap before the context ends
        for what, (median, best) in rows:
            print(f"{what:40} {median:6.2f} µs an order (best {best:.2f}), "
                  f"{len(TOPICS)} copies")
    finally:
        tap.close(linger=0)
        raw.close(linger=0)
        publisher.close()
        proxy.stop()
        context.term()


if __name__ == "__main__":
    main()
