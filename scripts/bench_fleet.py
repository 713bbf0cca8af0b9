#!/usr/bin/env python3
"""A fleet under load: 20 bots, each in its own process, at 50 orders/s with a
heartbeat every second, against ``kernel run`` with ``kernel tap`` and the moderator
running; beside a raw pyzmq DEALER/ROUTER echo measured in the same run.

Each bot is a light client (a bare DEALER speaking the bot link): it says hello
under its own id of ``paths.yaml`` ``bots:``, sends a heartbeat every second and an
order every 20 ms (each order's reservation ended by an ``order_update`` after its
decision, as a bot reports a cancel), times every round trip, and writes down every
decision it received. Afterwards the bench reads the journal: every decision a bot
received must be there (nothing lost). The kernel's CPU and RSS are sampled the
whole time.

Budget (issue 19): gate p99 under 2 ms, no decision lost, kernel RSS under 150 MB.

Usage: scripts/bench_fleet.py [--bots N] [--rate ORDERS_PER_S] [--seconds S] [--profile FILE]
                              [--spin-us US]

``--profile FILE`` also samples the kernel with py-spy during the run (its raw
collapsed stacks go to FILE, as ``scripts/profile_gate.py`` writes them): where a
fleet's kernel spends its time, under the same load as the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec
import psutil

from bus.codec import encode
from bus.protocol import OrderRequest
from kernel.console.control_client import ask
from kernel.control_protocol import StatusReply, StatusRequest
from kernel.journal import read_journal
from scripts._bench_support import (
    ROOT,
    free_ports,
    percentiles,
    row,
    running_kernel,
    start_script,
)
from scripts.bench_gate import BENCH_LIMITS, PRICE
from scripts.bench_gateway import ECHO_SERVER, round_trips

BOT = r"""
import json, os, sys, time
import zmq
from bus.codec import encode, kernel_frame_decoder
from bus.protocol import Heartbeat, Hello, OrderDecision, OrderRequest, OrderUpdate

endpoint, bot_id, rate, seconds, out, price = sys.argv[1:7]
rate, seconds, price = float(rate), float(seconds), float(price)
sock = zmq.Context().socket(zmq.DEALER)
sock.linger = 0
sock.connect(endpoint)
sock.send(encode(Hello(bot_id=bot_id, mode="paper", pid=os.getpid(), version="bench")))
assert sock.poll(20_000), "no welcome"
sock.recv()

def beat(seq):
    now = time.time()
    sock.send(encode(Heartbeat(bot_id=bot_id, seq=seq, ts=now, uptime_s=float(seq),
                               equity=1_000_000.0, realized_pnl=0.0, unrealized_pnl=0.0,
                               marks={"BTCUSDT": price}, last_tick_ts=now)))

def decision(request_id):
    while True:  # commands (a multiplier change) may come between: skipped
        if not sock.poll(30_000):  # a run that never ends says which order was not answered
            sys.exit(f"{bot_id}: no decision for {request_id} within 30 s")
        reply = kernel_frame_decoder.decode(sock.recv())
        if isinstance(reply, OrderDecision):
            return reply

beat(0)
time.sleep(1.0)  # the engine takes the first beat before the first order
latencies, decisions = [], {}
start = time.perf_counter()
next_order, next_beat, seq, i = start, start + 1.0, 1, 0
while (now := time.perf_counter()) - start < seconds:
    if now >= next_beat:
        beat(seq)
        seq, next_beat = seq + 1, next_beat + 1.0
    if now < next_order:
        time.sleep(min(next_order, next_beat) - now)
        continue
    order = OrderRequest(request_id=f"{bot_id}-{i:07d}", bot_id=bot_id, ts=time.time(),
                         symbol="BTCUSDT", side="buy", qty=0.001, price=price,
                         order_type="limit", reduce_only=False, leverage=1.0)
    t0 = time.perf_counter()
    sock.send(encode(order))
    answer = decision(order.request_id)
    latencies.append(time.perf_counter() - t0)
    decisions[answer.request_id] = answer.verdict + " " + answer.code
    sock.send(encode(OrderUpdate(request_id=order.request_id, status="cancelled",
                                 ts=time.time(), remaining_qty=order.qty, bot_id=bot_id)))
    i += 1
    next_order += 1.0 / rate
with open(out, "w") as f:
    json.dump({"bot": bot_id, "latencies": latencies, "decisions": decisions}, f)
"""


ECHO_PACED = r"""
import json, sys, time
import zmq
endpoint, rate, seconds, out = sys.argv[1:5]
rate, seconds = float(rate), float(seconds)
payload = bytes.fromhex(sys.argv[5])
sock = zmq.Context().socket(zmq.DEALER)
sock.linger = 0
sock.connect(endpoint)
time.sleep(1.0)
latencies = []
start = time.perf_counter()
next_at = start
while (now := time.perf_counter()) - start < seconds:
    if now < next_at:
        time.sleep(next_at - now)
        continue
    t0 = time.perf_counter()
    sock.send(payload)
    sock.recv()
    latencies.append(time.perf_counter() - t0)
    next_at += 1.0 / rate
with open(out, "w") as f:
    json.dump(latencies, f)
"""
"""The raw echo at the bots' pace, while they run: the floor under the same load (a
paced client finds the other end asleep, as each bot finds the kernel)."""


class Sampler(threading.Thread):
    """The kernel's CPU (percent of one core) and RSS, every half second."""

    EVERY_S = 0.5

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.cpu: list[float] = []
        self.rss: list[int] = []
        self.running = True

    def run(self) -> None:
        self.proc.cpu_percent(None)
        while self.running:
            time.sleep(self.EVERY_S)
            try:
                self.cpu.append(self.proc.cpu_percent(None))
                self.rss.append(self.proc.memory_info().rss)
            except psutil.Error:
                return


FLEET_LIMITS = BENCH_LIMITS + """\
portfolio:  # set, so each order also meets the portfolio's check across every bot
  max_daily_loss: {pct: 50}
  max_drawdown: {pct: 50}
  max_gross_notional: 1000000000
  max_notional_per_symbol: 1000000000
  max_leverage: 1000
"""
"""The bench limits, and portfolio limits that hold for every bench order: a fleet is
run for its limits across bots, so the bench pays for that check as a fleet does."""


def fleet_paths(bots: list[str]) -> str:
    """External bots (no command): the bench starts them itself."""
    return "data_dir: data\nlog_dir: logs\nbots:\n" + "".join(f"  - {{id: {b}}}\n" for b in bots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="orders per second per bot")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--profile", type=Path, default=None,
                        help="write py-spy's raw stacks of the kernel during the run here")
    parser.add_argument("--spin-us", type=int, default=None,
                        help="kernel.yaml gateway.spin_us for the run (default: as shipped)")
    parser.add_argument("--no-tap", action="store_true",
                        help="leave kernel tap out: what the tap's subscription costs the kernel")
    parser.add_argument("--no-portfolio", action="store_true",
                        help="no portfolio: limits: what the check across the bots costs")
    args = parser.parse_args()
    names = [f"bot-{n:02d}" for n in range(1, args.bots + 1)]
    payload = encode(OrderRequest(request_id="raw-0000000", bot_id=names[0], ts=time.time(),
                                  symbol="BTCUSDT", side="buy", qty=0.001, price=PRICE))

    echo_endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    echo = start_script(ECHO_SERVER, echo_endpoint)
    try:
        raw = percentiles(round_trips(echo_endpoint, lambda i: payload, 5000))
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
            fleet = run_fleet(args, names, echo_endpoint, payload, Path(tmp))
    finally:
        echo.kill()
        echo.wait(5)
    report(args, raw, payload, fleet)


class Fleet(NamedTuple):
    """What one run gathered."""

    latencies: list[float]
    received: dict[str, str]
    journaled: set[str]
    paced_echo: list[float]
    elapsed_s: float
    cpu: list[float]
    rss: list[int]
    codes: list[int]
    moderator: bool
    tap_cpu: float | None
    """The tap process's CPU over the run, percent of one core (None: no tap)."""


def run_fleet(args: argparse.Namespace, names: list[str], echo_endpoint: str, payload: bytes,
              tmp: Path) -> Fleet:
    """Start the kernel, the tap, the bots and the paced echo; collect every figure."""
    with running_kernel(risk_yaml=BENCH_LIMITS if args.no_portfolio else FLEET_LIMITS,
                        spin_us=args.spin_us, files={"paths.yaml": fleet_paths(names)}) as kernel:
        status = ask(kernel.control, StatusRequest(), timeout_s=5)
        assert isinstance(status, StatusReply)
        tap = None if args.no_tap else subprocess.Popen(
            [sys.executable, "-m", "kernel.console.cli", "--config-dir",
             str(kernel.config_dir), "tap", "--json"], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        sampler = Sampler(status.pid)
        sampler.start()
        outs = [tmp / f"{b}.json" for b in names]
        echo_out = tmp / "echo.json"
        clients = [start_script(BOT, kernel.link, b, str(args.rate), str(args.seconds), str(o),
                                str(PRICE)) for b, o in zip(names, outs, strict=True)]
        clients.append(start_script(ECHO_PACED, echo_endpoint, str(args.rate),
                                    str(args.seconds), str(echo_out), payload.hex()))
        started = time.perf_counter()
        time.sleep(2.0)  # past the bots' first second and the tap's start-up (imports, state)
        tap_clock = tap_cpu_s(tap), time.perf_counter()
        spy = profiler(status.pid, args) if args.profile else None
        codes = [c.wait(args.seconds + 120) for c in clients]
        if spy is not None:
            spy.wait(60)
        elapsed = time.perf_counter() - started - 1.0  # each client waits 1 s before its first
        sampler.running = False
        tap_cpu = None if tap is None else (tap_cpu_s(tap) - tap_clock[0]) * 100 / (
            time.perf_counter() - tap_clock[1])
        if tap is not None:
            tap.terminate()
            tap.wait(10)
        journaled = {msgspec.msgpack.decode(r.payload)["request_id"]
                     for r in read_journal(kernel.root / "data" / "journal.sqlite3",
                                           topic_prefix="order.decision", limit=10_000_000)}
        results: list[dict[str, Any]] = [json.loads(o.read_text()) for o in outs if o.exists()]
        paced = json.loads(echo_out.read_text()) if echo_out.exists() else []
    return Fleet(latencies=[x for r in results for x in r["latencies"]],
                 received={rid: v for r in results for rid, v in r["decisions"].items()},
                 journaled=journaled, paced_echo=paced, elapsed_s=elapsed, cpu=sampler.cpu,
                 rss=sampler.rss, codes=codes,
                 moderator=any(a.name == "moderator" for a in status.actors), tap_cpu=tap_cpu)


def tap_cpu_s(tap: subprocess.Popen[bytes] | None) -> float:
    """The tap's CPU time so far (it shares the cores with the kernel and the bots)."""
    if tap is None:
        return 0.0
    times = psutil.Process(tap.pid).cpu_times()
    return float(times.user + times.system)


def profiler(pid: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """py-spy sampling the kernel through the rest of the run (started 2 s into it)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "500", "--duration",
         str(max(1, int(args.seconds) - 2)), "--format", "raw", "--nonblocking", "--gil",
         "--output", str(args.profile)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report(args: argparse.Namespace, raw: dict[str, float], payload: bytes, run: Fleet) -> None:
    lost = sorted(set(run.received) - run.journaled)
    verdicts = Counter(run.received.values())
    gate, paced = percentiles(run.latencies), percentiles(run.paced_echo)
    rss_mb = max(run.rss, default=0) / 2**20
    cpu = sum(run.cpu) / len(run.cpu) if run.cpu else 0.0
    print(f"fleet: {args.bots} bot processes x {args.rate:g} orders/s + 1 heartbeat/s each, "
          f"{args.seconds:g} s; kernel run with "
          f"{'no tap' if args.no_tap else 'kernel tap --json'} and the moderator "
          f"(running: {run.moderator}); portfolio limits "
          f"{'off' if args.no_portfolio else 'set'}; {len(payload)}-byte order payload; "
          f"spin_us {'as shipped' if args.spin_us is None else args.spin_us}")
    print(row("raw pyzmq DEALER/ROUTER echo", raw))
    print(row(f"raw echo at {args.rate:g}/s during the run", paced))
    print(row(f"gate round trip, {args.bots} bots", gate))
    print(f"decisions: {len(run.received):,} received by the bots "
          f"({len(run.received) / run.elapsed_s:,.0f}/s); verdicts {dict(verdicts)}; "
          f"client exit codes {sorted(set(run.codes))}")
    print(f"gate p50 {gate['p50'] / raw['p50']:.2f}x the raw echo "
          f"({gate['p50'] / paced['p50']:.2f}x the paced echo during the run); p99 "
          f"{gate['p99'] / 1000:.2f} ms (budget < 2 ms); p99.9 {gate['p99.9'] / 1000:.2f} ms")
    cpu_s = sum(run.cpu) / 100 * Sampler.EVERY_S
    print(f"kernel: CPU {cpu:.0f}% of one core on average (max {max(run.cpu, default=0):.0f}%), "
          f"{cpu_s * 1e6 / max(1, len(run.received)):.0f} µs of CPU per decision; "
          f"RSS max {rss_mb:.0f} MB (budget < 150 MB)")
    if run.tap_cpu is not None:
        print(f"kernel tap --json: CPU {run.tap_cpu:.1f}% of one core (from 2 s into the run)")
    print(f"lost: {len(lost)} decisions received but not in the journal "
          f"({'none' if not lost else ', '.join(lost[:5])}); the journal holds "
          f"{len(run.journaled):,} decisions")


if __name__ == "__main__":
    main()
