#!/usr/bin/env python3
"""The gateway's socket calls for one order: reading a bot's message and sending
the reply, each the kernel's way beside the ways it replaced and a floor, in the
same run, CPU µs a message (this thread's CPU time, the best of the rounds: the
machine may be shared).

Read: a DEALER on loopback TCP queues ``--messages`` frames of 200 bytes, then each
way reads them all (blocking reads, whose waits cost no CPU time): the kernel's
``bus.frames.recv_routed``, the general ``recv_frames`` (which asks ``RCVMORE``
after every part), and two bare ``recv`` calls (the identity and the body, nobody
asking whether more follows). Send: the replies, identity and body, through
``bus.frames.send_frames`` and through ``zmq.Socket.send`` (pyzmq's Python wrapper).

Usage: scripts/bench_link_io.py [--messages N] [--rounds N]
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

from bus.frames import NOBLOCK, recv_frames, recv_routed, send_frames

BODY = b"x" * 200
Read = Callable[[zmq.Socket[Any], int], list[bytes]]
Send = Callable[[zmq.Socket[Any], tuple[bytes, bytes], int], None]


def bare(sock: zmq.Socket[Any], flags: int) -> list[bytes]:
    return [sock.recv(flags), sock.recv(flags)]


def cpu_us(router: zmq.Socket[Any], dealer: zmq.Socket[Any], read: Read, count: int) -> float:
    for _ in range(count):
        dealer.send(BODY)
    start = time.thread_time()
    for _ in range(count):
        frames = read(router, 0)  # blocking: a wait for the rest costs no CPU time
    spent = time.thread_time() - start
    if frames[1] != BODY or len(frames) != 2:
        raise SystemExit(f"{read.__name__} read {len(frames)} parts")
    return spent / count * 1e6


_SNDMORE = int(zmq.SNDMORE)


def sugar_send(router: zmq.Socket[Any], frames: tuple[bytes, bytes], flags: int) -> None:
    router.send(frames[0], flags | _SNDMORE)
    router.send(frames[1], flags)


def send_us(router: zmq.Socket[Any], dealer: zmq.Socket[Any], identity: bytes,
            send: Send,
            count: int) -> float:
    start = time.thread_time()
    for _ in range(count):
        send(router, (identity, BODY), NOBLOCK)
    spent = time.thread_time() - start
    for _ in range(count):
        dealer.recv()  # every reply arrived whole, and the next round starts empty
    return spent / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ctx = zmq.Context()
    router, dealer = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    router.rcvhwm = dealer.sndhwm = router.sndhwm = dealer.rcvhwm = 0  # none dropped
    router.linger = dealer.linger = 0
    dealer.connect(f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}")
    ways: list[tuple[str, Read]] = [("two bare recv (floor)", bare),
                                    ("recv_frames (general)", recv_frames),
                                    ("recv_routed (the gateway's)", recv_routed)]
    best = {name: float("inf") for name, _ in ways}
    for _ in range(args.rounds):
        for name, read in ways:
            best[name] = min(best[name], cpu_us(router, dealer, read, args.messages))
    dealer.send(b"hello")
    identity = recv_routed(router)[0]
    sends: list[tuple[str, Send]] = [("send_frames (the gateway's)", send_frames),
                                     ("zmq.Socket.send", sugar_send)]
    for name, _ in sends:
        best[name] = float("inf")
    for _ in range(args.rounds):
        for name, send in sends:
            best[name] = min(best[name], send_us(router, dealer, identity, send, args.messages))
    for name, _ in ways:
        print(f"read  {name:28s} {best[name]:5.2f} CPU µs a message")
    for name, _ in sends:
        print(f"reply {name:28s} {best[name]:5.2f} CPU µs a message")
    router.close()
    dealer.close()
    ctx.term()


if __name__ == "__main__":
    main()
