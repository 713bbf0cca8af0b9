#!/usr/bin/env python3
"""Reading one bot message from the gateway's ROUTER socket: the kernel's way
(``bus.frames.recv_routed``) beside the general ``recv_frames`` and the floor of two
bare ``recv`` calls (the identity and the body, no question whether more follows),
all in the same run, CPU µs a message (this thread's CPU time, the best of the
rounds: the machine may be shared).

A DEALER on loopback TCP queues ``--messages`` frames of 200 bytes, then each way
reads them all with ``NOBLOCK``, as the gateway's drain does.

Usage: scripts/bench_recv.py [--messages N] [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.frames import NOBLOCK, recv_frames, recv_routed

BODY = b"x" * 200
Read = Callable[[zmq.Socket[Any], int], list[bytes]]


def bare(sock: zmq.Socket[Any], flags: int) -> list[bytes]:
    return [sock.recv(flags), sock.recv(flags)]


def wait_queued(sock: zmq.Socket[Any], count: int) -> None:
    """Until ``count`` messages wait on ``sock`` (polled, not slept for a fixed time)."""
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    deadline = time.monotonic() + 30
    while not poller.poll(100):
        if time.monotonic() > deadline:
            raise SystemExit("the DEALER's frames never arrived")
    time.sleep(0.05 + count / 200_000)  # the rest of the batch is on its way over loopback


def cpu_us(router: zmq.Socket[Any], dealer: zmq.Socket[Any], read: Read, count: int) -> float:
    for _ in range(count):
        dealer.send(BODY)
    wait_queued(router, count)
    start = time.thread_time()
    for _ in range(count):
        frames = read(router, NOBLOCK)
    spent = time.thread_time() - start
    if frames[1] != BODY or len(frames) != 2:
        raise SystemExit(f"{read.__name__} read {len(frames)} parts")
    return spent / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ctx = zmq.Context()
    router, dealer = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    router.rcvhwm = dealer.sndhwm = 0  # the whole batch waits, none dropped or blocked
    router.linger = dealer.linger = 0
    dealer.connect(f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}")
    ways: list[tuple[str, Read]] = [("two bare recv (floor)", bare),
                                    ("recv_frames (general)", recv_frames),
                                    ("recv_routed (the gateway's)", recv_routed)]
    best = {name: float("inf") for name, _ in ways}
    for _ in range(args.rounds):
        for name, read in ways:
            best[name] = min(best[name], cpu_us(router, dealer, read, args.messages))
    for name, _ in ways:
        print(f"{name:28s} {best[name]:5.2f} CPU µs a message")
    router.close()
    dealer.close()
    ctx.term()


if __name__ == "__main__":
    main()
