#!/usr/bin/env python3
"""One link floods the bot link while a quiet bot orders every 10 ms: is the quiet
bot still served fast, are the floods decided, and does the kernel's memory stay put?

Against ``kernel run`` (a fleet of two external bots, ``quiet`` and ``flood``), a
flooding client in its own process sends, as fast as its socket lets it, one kind of
frame per case:

- ``heartbeats``: heartbeats of the ``flood`` bot (after its hello);
- ``orders``: orders of the ``flood`` bot, each with a new id;
- ``strangers``: orders under a new ``bot_id`` and a new unknown symbol each, from a
  link that never said hello (each is denied ``identity_mismatch``);
- ``garbage``: 200 kB frames of random bytes;
- ``fuzz``: valid frames (hello, heartbeat, order, fill) with random bytes changed,
  cut or added.

Meanwhile the quiet bot (the fleet bench's client) sends an order every 10 ms and
times each round trip. Printed per case: the quiet bot's p50 / p99, the frames the
flooder got in and the answers it got back per second, the decisions per second
(both links), and the kernel's RSS (psutil) before, at its peak, and after the flood
(over time, one figure a second). Beside them, measured in the same run: a raw pyzmq
echo at the quiet bot's pace, the quiet bot alone, and one bot flooding orders alone
(the one-bot decisions/s each case is compared with).

Budgets (issue 23): quiet p99 < 5 ms; with ``--soak`` (each flood 60 s, RSS read 30 s
after): peak RSS < 200 MB, RSS 30 s after within 20 MB of the start, decisions/s
within 2x of the one-bot figure. ``--fuzz N`` sends N mutated frames (the soak's
default: 1,000,000) however long that takes, and then a fresh client (hello, one
order) must be served, with the kernel's RSS under the same bound.

Usage: scripts/bench_flood.py [--seconds S] [--settle S] [--soak] [--fuzz N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus.codec import encode
from bus.protocol import Hello
from kernel.console.control_client import ask
from kernel.control_protocol import StatusReply, StatusRequest
from scripts._bench_support import (
    dealer,
    free_ports,
    percentiles,
    running_kernel,
    start_script,
)
from scripts.bench_fleet import BOT, ECHO_PACED, Sampler, fleet_paths
from scripts.bench_gate import BENCH_LIMITS, PRICE, make_order
from scripts.bench_gateway import ECHO_SERVER

CASES = ("heartbeats", "orders", "strangers", "garbage", "fuzz")
QUIET_RATE = 100.0
"""Orders per second of the quiet bot: one every 10 ms."""

FLOODER = r"""
import json, os, random, sys, time
import zmq
from bus.codec import encode, encode_json
from bus.protocol import Fill, Heartbeat, Hello, OrderRequest

endpoint, mode, seconds, out, price, limit = sys.argv[1:7]
seconds, price, limit = float(seconds), float(price), int(limit)
rng = random.Random(23)
sock = zmq.Context().socket(zmq.DEALER)
sock.linger = 0
sock.connect(endpoint)

def order(i, bot="flood", symbol="BTCUSDT"):
    return OrderRequest(request_id=f"{mode}-{i:08d}", bot_id=bot, ts=time.time(),
                        symbol=symbol, side="buy", qty=0.001, price=price)

def beat(i):
    now = time.time()
    return Heartbeat(bot_id="flood", seq=i, ts=now, uptime_s=float(i), equity=1_000_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, marks={"BTCUSDT": price},
                     last_tick_ts=now)

def mutate(frame):
    frame = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        at = rng.randrange(len(frame))
        if kind < 0.5:
            frame[at] = rng.randrange(256)
        elif kind < 0.75:
            del frame[at:at + rng.randint(1, 8)]
        else:
            frame[at:at] = os.urandom(rng.randint(1, 8))
        if not frame:
            frame = bytearray(b"\x00")
    return bytes(frame)

if mode in ("heartbeats", "orders"):
    sock.send(encode(Hello(bot_id="flood", mode="paper", pid=os.getpid(), version="bench")))
    assert sock.poll(20_000), "no welcome"
    sock.recv()
    sock.send(encode(beat(0)))
    time.sleep(0.5)

def frames():
    i = 0
    if mode == "heartbeats":
        while True:
            i += 1
            yield encode(beat(i))
    elif mode == "orders":
        while True:
            i += 1
            yield encode(order(i))
    elif mode == "strangers":
        while True:
            i += 1
            yield encode(order(i, bot=f"stranger-{os.urandom(6).hex()}",
                               symbol=f"X{os.urandom(4).hex().upper()}USDT"))
    elif mode == "garbage":
        blobs = [os.urandom(200 * 1024) for _ in range(16)]
        while True:
            i += 1
            yield blobs[i % 16]
    else:
        seeds = [encode(Hello(bot_id="flood", mode="paper", pid=1)), encode(beat(1)),
                 encode(order(1)), encode_json(order(2)), encode_json(beat(2)),
                 encode(Fill(request_id="f", symbol="BTCUSDT", side="buy", qty=0.001,
                             price=price, ts=time.time(), bot_id="flood"))]
        while True:  # each frame mutated afresh: a million frames, a million mutations
            yield mutate(rng.choice(seeds))

sent = answers = decisions = 0
source = frames()
frame = next(source)
end = time.perf_counter() + seconds
while time.perf_counter() < end and not (limit and sent >= limit):
    try:
        sock.send(frame, zmq.NOBLOCK)
        sent += 1
        frame = next(source)
    except zmq.Again:
        sock.poll(10, zmq.POLLIN | zmq.POLLOUT)
    if sent % 64 == 0 or not sock.poll(0, zmq.POLLOUT):
        while True:
            try:
                reply = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            answers += 1
            decisions += b"order_decision" in reply
drain_end = time.perf_counter() + 3.0
while time.perf_counter() < drain_end and sock.poll(500):
    reply = sock.recv()
    answers += 1
    decisions += b"order_decision" in reply
with open(out, "w") as f:
    json.dump({"sent": sent, "answers": answers, "decisions": decisions,
               "seconds": seconds - max(0.0, end - time.perf_counter())}, f)
"""


def mb(rss: int) -> float:
    return rss / 1e6


def quiet_bot(link: str, seconds: float, out: Path) -> Any:
    return start_script(BOT, link, "quiet", str(QUIET_RATE), str(seconds), str(out), str(PRICE))


def quiet_figures(out: Path) -> dict[str, float]:
    data = json.loads(out.read_text())
    lat = percentiles(data["latencies"])
    return {"p50": lat["p50"] / 1000, "p99": lat["p99"] / 1000,
            "decisions": float(len(data["decisions"]))}


def flood_case(link: str, mode: str, seconds: float, settle_s: float, sampler: Sampler,
               tmp: Path, *, with_quiet: bool = True, frames: int = 0) -> dict[str, Any]:
    """One flood with (or without) the quiet bot; RSS read before, during and after.
    ``frames``: send that many, however long it takes (the quiet bot orders for
    ``seconds``, the first part of it), then check that a fresh client is served."""
    start_rss = sampler.rss[-1] if sampler.rss else 0
    mark = len(sampler.rss)
    flood_out, quiet_out = tmp / f"{mode}-flood.json", tmp / f"{mode}-quiet.json"
    quiet = quiet_bot(link, seconds, quiet_out) if with_quiet else None
    cap = max(seconds, frames / 500) if frames else seconds  # at least 500 frames a second
    flooder = start_script(FLOODER, link, mode, str(cap), str(flood_out), str(PRICE),
                           str(frames))
    flooder.wait(cap + 120)
    if quiet is not None:
        quiet.wait(seconds + 120)
    during = sampler.rss[mark:]
    time.sleep(settle_s)
    flood = json.loads(flood_out.read_text())
    result: dict[str, Any] = {
        "mode": mode, "flood": flood, "start": start_rss, "peak": max(during or [start_rss]),
        "after": sampler.rss[-1], "series": sampler.rss[mark::2]}
    if with_quiet:
        result["quiet"] = quiet_figures(quiet_out)
    if frames:
        result["fresh_ms"] = fresh_client(link)
    return result


def fresh_client(link: str) -> float | None:
    """Milliseconds for a new connection's hello and one order to be answered, or None
    when either went unanswered for 10 s (the kernel no longer serves new clients)."""
    started = time.perf_counter()
    try:
        sock = dealer(link, hello_as="quiet")
    except RuntimeError:
        return None
    try:
        sock.send(encode(make_order("fresh", 0, "quiet")))
        if not sock.poll(10_000) or b"order_decision" not in sock.recv():
            return None
        return (time.perf_counter() - started) * 1000
    finally:
        sock.close()


def raw_echo(seconds: float, tmp: Path) -> dict[str, float]:
    """The floor: a raw pyzmq DEALER/ROUTER echo at the quiet bot's pace."""
    endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    echo = start_script(ECHO_SERVER, endpoint)
    out = tmp / "echo.json"
    try:
        client = start_script(ECHO_PACED, endpoint, str(QUIET_RATE), str(seconds), str(out),
                              encode(Hello(bot_id="echo", mode="paper", pid=1)).hex())
        client.wait(seconds + 60)
    finally:
        echo.kill()
    lat = percentiles(json.loads(out.read_text()))
    return {"p50": lat["p50"] / 1000, "p99": lat["p99"] / 1000}


def report(case: dict[str, Any], one_bot_rate: float, quiet_s: float) -> list[str]:
    flood, quiet = case["flood"], case.get("quiet")
    seconds = flood["seconds"]
    per_s = flood["decisions"] / seconds
    both = per_s + (quiet["decisions"] / quiet_s if quiet else 0.0)
    ratio = f"{both / one_bot_rate:5.2f}x of one bot" if flood["decisions"] else "(no orders)"
    lines = [
        f"{case['mode']:<11} quiet p50 {quiet['p50']:6.2f} ms  p99 {quiet['p99']:6.2f} ms   "
        f"flood in {flood['sent'] / seconds:9.0f}/s  answered {flood['answers'] / seconds:9.0f}/s"
        f"   decisions {both:8.0f}/s {ratio}" if quiet else
        f"{case['mode']:<11} (alone)   flood in {flood['sent'] / seconds:9.0f}/s  "
        f"decisions {per_s:8.0f}/s",
        f"{'':<11} kernel RSS {mb(case['start']):6.1f} -> peak {mb(case['peak']):6.1f} -> "
        f"after {mb(case['after']):6.1f} MB   over time (MB/s): "
        + " ".join(f"{mb(r):.0f}" for r in case["series"][:40]),
    ]
    if "fresh_ms" in case:
        fresh = case["fresh_ms"]
        lines.append(f"{'':<11} {flood['sent']:,} frames in {seconds:.0f} s; then a fresh "
                     "client's hello and order: " + ("NOT served within 10 s" if fresh is None
                                                     else f"served in {fresh:.1f} ms"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per flood")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after each flood before RSS is read again")
    parser.add_argument("--soak", action="store_true", help="60 s floods, RSS 30 s after")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--fuzz", type=int, default=None,
                        help="mutated frames the fuzz case sends (with --soak: 1,000,000; "
                        "otherwise as many as fit in --seconds)")
    args = parser.parse_args()
    seconds, settle = (60.0, 30.0) if args.soak else (args.seconds, args.settle)
    fuzz = args.fuzz if args.fuzz is not None else (1_000_000 if args.soak else 0)
    cases = [c for c in args.cases.split(",") if c]
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp_name:
        tmp = Path(tmp_name)
        echo = raw_echo(min(seconds, 8.0), tmp)
        with running_kernel(risk_yaml=BENCH_LIMITS,
                            files={"paths.yaml": fleet_paths(["quiet", "flood"])}) as kernel:
            status = ask(kernel.control, StatusRequest(), timeout_s=5)
            assert isinstance(status, StatusReply)
            sampler = Sampler(status.pid)
            sampler.start()
            time.sleep(1.0)
            alone_out = tmp / "alone-quiet.json"
            quiet_bot(kernel.link, min(seconds, 8.0), alone_out).wait(seconds + 60)
            alone = quiet_figures(alone_out)
            one_bot = flood_case(kernel.link, "orders", seconds, settle, sampler, tmp,
                                 with_quiet=False)
            one_bot_rate = max(1.0, one_bot["flood"]["decisions"] / seconds)
            results = [flood_case(kernel.link, mode, seconds, settle, sampler, tmp,
                                  frames=fuzz if mode == "fuzz" else 0)
                       for mode in cases]
            sampler.running = False
    print(f"bench_flood: {seconds:g} s per flood, {settle:g} s settle; the quiet bot orders "
          f"every {1000 / QUIET_RATE:g} ms")
    print(f"raw pyzmq echo at the same pace      p50 {echo['p50']:6.2f} ms  p99 "
          f"{echo['p99']:6.2f} ms")
    print(f"quiet bot alone (no flood)           p50 {alone['p50']:6.2f} ms  p99 "
          f"{alone['p99']:6.2f} ms")
    for line in report(one_bot, one_bot_rate, seconds):
        print(line)
    worst_p99 = 0.0
    for case in results:
        for line in report(case, one_bot_rate, seconds):
            print(line)
        worst_p99 = max(worst_p99, case["quiet"]["p99"])
    peak = max(c["peak"] for c in [one_bot, *results])
    drift = max(abs(c["after"] - c["start"]) for c in [one_bot, *results])
    ordering = [c["flood"]["decisions"] / c["flood"]["seconds"] / one_bot_rate
                for c in results if c["mode"] in ("orders", "strangers")]
    unserved = [c["mode"] for c in results if "fresh_ms" in c and c["fresh_ms"] is None]
    print(f"budgets: quiet p99 < 5 ms: worst {worst_p99:.2f} ms "
          f"{'ok' if worst_p99 < 5 else 'OVER'}; peak RSS < 200 MB: {mb(peak):.1f} MB "
          f"{'ok' if mb(peak) < 200 else 'OVER'}; RSS after within 20 MB of start: worst "
          f"{mb(drift):.1f} MB {'ok' if mb(drift) <= 20 else 'OVER'}"
          + (f"; decisions/s not under half of one bot's: {min(ordering):.2f}-"
             f"{max(ordering):.2f}x {'ok' if min(ordering) >= 0.5 else 'OVER'}"
             if ordering else "")
          + ("; fresh client after the fuzz: " + ("NOT served" if unserved else "served")
             if any("fresh_ms" in c for c in results) else ""))


if __name__ == "__main__":
    main()
