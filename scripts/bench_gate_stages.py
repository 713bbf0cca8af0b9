#!/usr/bin/env python3
"""The order gate's stages, each timed alone in one process, beside a raw send/receive.

``scripts/bench_gate.py`` times the whole round trip; this one says where the
kernel's part of it goes. It builds the real pieces the gateway uses (the link
decoder, an :class:`~kernel.emitter.Emitter` over a real journal file with its
JSONL copy, a publisher with local subscriptions, a ROUTER/DEALER pair on
loopback) and runs each stage of one order's path by itself, in the order the
gateway runs them, timing each with ``perf_counter_ns``:

  receive   ROUTER ``recv_frames`` of a waiting order frame
  decode    the link decoder, frame -> ``OrderRequest``
  request   ``Emitter.emit``: encode, journal append (queued), its bus copy held
  decide    the closed gate's DENY (the risk engine's own cost: bench_gate prints it)
  stage     ``Emitter.stage``: encode the decision, durable append (queued)
  commit    ``Emitter.commit_now``: bind (severity, hash chain) and the inline
            SQLite insert + commit of both rows
  reply     ROUTER ``send_frames`` of the reply
  publish   after the reply: the request's and the decision's bus copies (the
            bus and the local subscriptions), as the gateway releases them

The raw figures beside them are one ``recv`` and one ``send`` of the same frame
on a bare pair, and a plain ``sqlite3`` two-row insert + commit into a table of
the journal's shape: the floor each stage stands on. The local subscriptions are
read between samples, untimed, as the actors would.

``--switch-ms`` sets the interpreter's switch interval first (``kernel run`` sets
0.5 ms; Python's default is 5 ms); ``--checkpoint-s`` how often the journal moves
its WAL into the file (the kernel's 0.5 s; a large value leaves that thread idle).

Usage: scripts/bench_gate_stages.py [--samples N] [--no-jsonl] [--switch-ms MS]
                                    [--checkpoint-s S]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zmq

from bus.codec import bot_frame_decoder, encode
from bus.frames import NOBLOCK, recv_frames, send_frames
from bus.protocol import OrderRequest
from bus.pubsub import Publisher
from kernel import journal as journal_module
from kernel.emitter import Emitter
from kernel.gate import ClosedGate
from kernel.journal import Journal
from scripts._bench_support import free_ports, percentiles
from scripts.bench_gate import make_order

LOCAL_SUBSCRIBERS = (("order", "risk", "bot", "kernel"), ("order",), ("",))
"""Roughly who listens in a kernel: the risk engine, the auditor, the tap's cache."""


class PlainSqlite:
    """Two rows, one multi-row INSERT, autocommit, WAL, synchronous=NORMAL, two indexes."""

    def __init__(self, path: Path, payload: bytes) -> None:
        self.db = plain_db(path)
        self.payload = payload
        self.seq = 0

    def commit(self) -> None:
        self.seq += 2
        db, link, payload = self.db, bytes(32), self.payload
        db.execute(_PLAIN_SQL, (self.seq - 1, time.time(), "order.request", "gateway",
                                "order_request", payload, "info", link, self.seq, time.time(),
                                "order.decision", "gateway", "order_decision", payload,
                                "info", link))


_PLAIN_SQL = "INSERT INTO j VALUES (?,?,?,?,?,?,?,?), (?,?,?,?,?,?,?,?)"


def plain_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE j (seq INTEGER PRIMARY KEY, ts REAL, topic TEXT, source TEXT, "
               "kind TEXT, payload BLOB, severity TEXT, hash BLOB)")
    db.execute("CREATE INDEX j_topic ON j (topic)")
    db.execute("CREATE INDEX j_ts ON j (ts)")
    return db


def sqlite_floor(root: Path, samples: int, payload: bytes) -> list[int]:
    """The plain commit in a tight loop, nothing else between (caches warm)."""
    plain = PlainSqlite(root / "plain.db", payload)
    out: list[int] = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        plain.commit()
        out.append(time.perf_counter_ns() - start)
    plain.db.close()
    return out


async def stages(root: Path, samples: int, jsonl: bool) -> dict[str, list[int]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    link, bus = (f"tcp://127.0.0.1:{port}" for port in free_ports(2))
    router = context.socket(zmq.ROUTER)
    router.bind(link)
    peer = context.socket(zmq.DEALER)
    peer.connect(link)
    sub = context.socket(zmq.SUB)
    sub.subscribe(b"")
    sub.bind(bus)
    publisher = Publisher(context, bus, source="gateway")
    locals_ = [publisher.subscribe_local(prefixes) for prefixes in LOCAL_SUBSCRIBERS]
    journal = await Journal.open(root / "journal.db", jsonl_dir=root / "logs" if jsonl else None)
    emitter = Emitter(source="gateway", journal=journal, publisher=publisher, clock=time.time)
    gate = ClosedGate()
    names = ("receive", "decode", "request", "decide", "stage", "commit", "reply", "publish",
             "raw recv", "raw send", "raw sqlite3")
    plain = PlainSqlite(root / "plain-in-loop.db", encode(make_order("stage", 0, "bench")))
    out: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    peer.send(b"warm-up")
    recv_frames(router)
    await asyncio.sleep(0.2)  # the PUB/SUB pair connects
    try:
        for i in range(samples + 500):
            marks = [0] * 9
            peer.send(encode(make_order("stage", i, "bench")))
            while not router.poll(0):
                pass
            marks[0] = clock()
            identity, body = recv_frames(router, NOBLOCK)
            marks[1] = clock()
            order = bot_frame_decoder.decode(body)
            assert isinstance(order, OrderRequest)
            marks[2] = clock()
            publisher.hold()
            emitter.emit(order)
            marks[3] = clock()
            decision = gate.decide(order, time.time())
            marks[4] = clock()
            staged = emitter.stage(decision)
            marks[5] = clock()
            emitter.commit_now()
            marks[6] = clock()
            send_frames(router, (identity, staged.payload), NOBLOCK)
            marks[7] = clock()
            emitter.publish(staged)
            publisher.release()
            marks[8] = clock()
            peer.recv()
            peer.send(body)  # the floor: the same frame, bare
            while not router.poll(0):
                pass
            raw_start = clock()
            raw = recv_frames(router, NOBLOCK)
            raw_read = clock()
            send_frames(router, raw, NOBLOCK)
            raw_sent = clock()
            plain.commit()
            plain_done = clock()
            peer.recv()
            if i >= 500:  # the first 500 warm up caches and connections
                for name, (begin, end) in zip(names[:8], itertools.pairwise(marks),
                                              strict=True):
                    out[name].append(end - begin)
                out["raw recv"].append(raw_read - raw_start)
                out["raw send"].append(raw_sent - raw_read)
                out["raw sqlite3"].append(plain_done - raw_sent)
            for local in locals_:  # the actors read what was published, untimed
                while local._frames:
                    local._frames.popleft()
            while sub.poll(0):
                sub.recv_multipart()
            # The loop turns after every order, as the kernel's does after every burst:
            # the journal's own tasks (JSONL copy, head file, checkpoints) run between.
            await asyncio.sleep(0)
    finally:
        await journal.close()
        for sock in (router, peer, sub):
            sock.close(linger=0)
        publisher.close()
        context.term()
        plain.db.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--no-jsonl", action="store_true", help="journal without its JSONL copy")
    parser.add_argument("--switch-ms", type=float, default=0.5,
                        help="sys.setswitchinterval in ms (kernel run: 0.5)")
    parser.add_argument("--checkpoint-s", type=float, default=None,
                        help="seconds between WAL checkpoints (the journal's: 0.5)")
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_ms / 1000)
    if args.checkpoint_s is not None:
        journal_module._CHECKPOINT_EVERY_S = args.checkpoint_s
    payload = encode(make_order("stage", 0, "bench"))
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        root = Path(tmp)
        floor = sqlite_floor(root, args.samples, payload)
        out = asyncio.run(stages(root, args.samples, jsonl=not args.no_jsonl))
    print(f"order gate stages, closed gate, {args.samples} samples, {len(payload)}-byte order, "
          f"JSONL copy {'off' if args.no_jsonl else 'on'}, switch interval {args.switch_ms} ms"
          f"{'' if args.checkpoint_s is None else f', checkpoint every {args.checkpoint_s} s'}"
          "; µs")
    kernel_total = before_reply = 0.0
    for name, samples in out.items():
        figures = percentiles([s / 1e9 for s in samples])
        mean = sum(samples) / len(samples) / 1000
        if not name.startswith("raw"):
            kernel_total += figures["p50"]
            before_reply += figures["p50"] if name != "publish" else 0.0
        print(f"  {name:<10} p50 {figures['p50']:7.1f}  p99 {figures['p99']:7.1f}  "
              f"mean {mean:7.1f}")
    plain = percentiles([s / 1e9 for s in floor])
    print(f"  raw sqlite3 above: the same plain 2-row insert+commit as the floor below, "
          f"timed in the stages' loop\n  raw sqlite3 2-row insert+commit in a tight loop "
          f"p50 {plain['p50']:7.1f}  p99 {plain['p99']:7.1f}")
    print(f"  sum of the stages' p50: {kernel_total:.1f} µs, up to the reply "
          f"{before_reply:.1f} µs")


if __name__ == "__main__":
    main()
