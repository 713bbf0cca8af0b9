#!/usr/bin/env python3
"""The JSONL copy's cost an order on the loop: its three lines (request, decision,
update), beside the bare msgspec work in the same run (decoding each payload and
encoding the body alone, the floor of any conversion to the documented form), and
the same lines from rows that do not carry their message (bodies decoded again).

Usage: scripts/bench_jsonl_line.py [--orders N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.codec import encode
from bus.protocol import make_decision
from kernel._jsonl import format_chunks
from kernel.journal import JournalEntry
from scripts.bench_gate import cancelled, make_order


def rows() -> list[JournalEntry]:
    order = make_order("async", 12_345, "bench")
    decision = make_decision(request_id=order.request_id, verdict="ALLOW", code="allowed",
                             reason="within limits", trading_state="ACTIVE", bot_id="bench",
                             ts=order.ts)
    return [JournalEntry(ts=time.time(), topic=m.topic, source="gateway", kind=kind,
                         payload=encode(m), message=m)  # as the kernel's emitter makes them
            for m, kind in ((order, "order_request"), (decision, "order_decision"),
                            (cancelled(order), "order_update"))]


def best_us(step: Callable[[], None], orders: int) -> float:
    """The best of seven rounds, CPU µs an order (this thread's CPU time: on a shared
    machine the wall clock also counts the time other processes held the core)."""
    best = float("inf")
    for _ in range(7):
        start = time.thread_time()
        for _ in range(orders):
            step()
        best = min(best, (time.thread_time() - start) / orders * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30_000)
    args = parser.parse_args()
    entries = rows()
    links = [os.urandom(32) for _ in entries]
    severities = ["info"] * len(entries)
    encoder, decode = msgspec.json.Encoder(), msgspec.msgpack.Decoder().decode
    files: dict[str, bytearray] = {}

    def lines() -> None:
        files.clear()
        format_chunks([(1, entries, severities, links)], encoder, files)

    decoded = [msgspec.structs.replace(entry, message=None) for entry in entries]

    def lines_decoded() -> None:
        files.clear()
        format_chunks([(1, decoded, severities, links)], encoder, files)

    def floor() -> None:
        for entry in entries:
            encoder.encode(decode(entry.payload))

    print(f"bare decode + encode of the bodies {best_us(floor, args.orders):6.2f} µs an order")
    print(f"the JSONL copy's three lines       {best_us(lines, args.orders):6.2f} µs an order")
    again = best_us(lines_decoded, args.orders)
    print(f"  the same, bodies decoded again   {again:6.2f} µs an order (rows without their "
          "message)")


if __name__ == "__main__":
    main()
