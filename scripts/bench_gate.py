#!/usr/bin/env python3
"""The order gate, end to end: a bot process asks ``kernel run`` (risk engine on,
every decision journaled before the reply), beside a raw pyzmq echo, same run.

This process plays the bot. It measures:
  * a raw pyzmq DEALER/ROUTER echo of the same order payload (the floor);
  * ``BotLink.can_execute`` round trips, 1 in flight: latency p50/p99/p99.9;
  * ``AsyncBotLink.can_execute`` with 64 in flight: decisions/s and latency;
  * the same two through a bare DEALER, to tell the client library's cost from
    the kernel's.
Every order is an opening order that the bench's limits ALLOW (checked and
printed), so the whole path runs: decode, every risk rule, the reservation, the
durable journal commit, the reply. The bench, like a bot, tells the kernel what
became of each order (an ``order_update`` ``cancelled``), which ends its
reservation: reservations last until a fill or such an update, so without it they
would pile up to the limit. At 64 in flight each update follows its order's reply,
so decisions/s include taking one update per order; at 1 in flight they go in
batches between the timed round trips (``ENDED_EVERY``).
Budgets (DESIGN.md), each printed beside its figure with ``met`` or ``MISSED``: BotLink
p50 <= 2.5x the raw echo, the closed gate's p50 <= 1.5x, BotLink p99 < 1 ms, >= 15,000
decisions/s through AsyncBotLink with 64 in flight.

With ``--shadow`` it measures instead what shadow limits (``config/risk.shadow.yaml``)
add to the gate: the BotLink round trip at 1 in flight without them, with shadow
limits that agree with the real ones, and with ones that deny every order (the
worst case: a ``shadow.decision`` row journaled per order). ``--rounds N`` runs N
rounds of the three kernels in that order (ABCABC...), prints each round, and the
median of the round-by-round differences with their spread (min..max), beside the
same difference between one round's kernel without shadow limits and the next's
(nothing to find: the noise), and the kernel process's CPU time per order the same
way (a figure a loaded machine inflates less than latency; with ``--spin-us 0``,
since the loop's spin after each order counts as CPU). Budget (docs/replay.md):
+ 30 µs at p50.

Usage: scripts/bench_gate.py [--samples N] [--spin-us N] [--shadow [--rounds N]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit
from collections import Counter, deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec
import psutil
import yaml
import zmq

from agents.risk.shadow import Shadow, journal_entry
from bus.client import AsyncBotLink, BotLink
from bus.codec import encode
from bus.drain import CROWD_S
from bus.protocol import Heartbeat, OrderRequest, OrderUpdate
from kernel.journal import Journal, JournalEntry
from risk import RiskLimits, apply_heartbeat, decide, initial_state
from risk.messages import ShadowDecisionDiffered
from scripts._bench_support import (
    dealer,
    free_ports,
    percentiles,
    row,
    running_kernel,
    start_script,
)
from scripts.bench_gateway import ECHO_SERVER, pipelined, round_trips

WINDOW = 64
ENDED_EVERY = 32
"""At 1 in flight, the bench ends its orders in batches of this many, between timed
round trips: it sends their updates, waits ``SETTLE_S`` for the kernel to take them,
and sends one untimed order so that the kernel is awake again. Each timed round trip
is then one decision, as a bot that does not fire its next order within microseconds
of its last report sees it; at 64 in flight every order's update follows its reply."""
SETTLE_S = 0.002
LONE_AFTER_S = CROWD_S + 0.1
"""At 64 in flight the timed link waits this long after its hello. The gateway counts a
frame from another link than the last one heard as competition for ``CROWD_S``
(``bus/drain.py``), and the bench's probe link (``prepare``) spoke just before: without
the wait, the first second of the run is served 8 frames a wake-up, as if two bots
competed, and the rate measured is a mixture. This measures one bot alone, steady."""
PRICE = 50_000.0
BENCH_LIMITS = """\
# Limits that ALLOW every bench order, so the full path is measured: a big account,
# and a rate limit far above what is sent. Each order's reservation ends with the
# bench's order_update after the decision (order_unconfirmed stays quiet for 60 s).
max_daily_loss: {pct: 50}
max_drawdown: {pct: 50}
max_trailing_drawdown: {pct: 50}
max_notional_per_symbol: 1000000000
max_leverage: 1000
max_order_notional: 1000000
max_orders_per_second: 1000000
max_open_orders: 10000
open_order_ttl_s: 60
stale_tick_s: 3600
symbols: {BTCUSDT: {}}
"""


NO_RISK_ENGINE = """\
actors: {risk: {enabled: false}}
"""


def make_order(prefix: str, i: int, bot_id: str) -> OrderRequest:
    return OrderRequest(request_id=f"{prefix}-{i:08d}", bot_id=bot_id, ts=time.time(),
                        symbol="BTCUSDT", side="buy", qty=0.001, price=PRICE,
                        order_type="limit", reduce_only=False, leverage=1.0)


def cancelled(order: OrderRequest) -> OrderUpdate:
    """What a bot reports when the venue cancels the order: its reservation ends."""
    return OrderUpdate(request_id=order.request_id, status="cancelled", ts=time.time(),
                       remaining_qty=order.qty, bot_id=order.bot_id)


def prepare(endpoint: str, bot_id: str) -> BotLink:
    """Hello and a heartbeat with equity and a fresh mark; wait until orders pass."""
    link = BotLink(endpoint, bot_id=bot_id, version="bench")
    link.hello(timeout_s=10)
    deadline = time.monotonic() + 10
    for i in range(10_000):
        link.heartbeat(uptime_s=1.0, equity=1_000_000.0, realized_pnl=0.0,
                       unrealized_pnl=0.0, last_tick_ts=time.time(), marks={"BTCUSDT": PRICE})
        probe = make_order(f"{bot_id}-probe", i, bot_id)
        decision = link.can_execute(probe, timeout_s=2)
        if decision.verdict == "ALLOW":
            link.report_order_update(cancelled(probe))
            return link
        if time.monotonic() > deadline:
            raise SystemExit(f"the gate never allowed a bench order: {decision.code} "
                             f"{decision.reason}")
        time.sleep(0.01)
    raise SystemExit("unreachable")


def link_round_trips(endpoint: str, samples: int, verdicts: Counter[str]) -> list[float]:
    """Round trips at 1 in flight; the orders end in batches between them (``ENDED_EVERY``)."""
    link = prepare(endpoint, "bench")
    timings: list[float] = []
    open_ones: list[OrderRequest] = []
    try:
        for i in range(samples + 500):
            order = make_order("sync", i, "bench")  # stamped as it is sent, as a bot does
            start = time.perf_counter()
            decision = link.can_execute(order, timeout_s=5)
            if i >= 500:  # warm-up
                timings.append(time.perf_counter() - start)
                verdicts[decision.code] += 1
            open_ones.append(order)
            if len(open_ones) == ENDED_EVERY:
                for ended in open_ones:
                    link.report_order_update(cancelled(ended))
                time.sleep(SETTLE_S)
                awake = make_order("sync-awake", i, "bench")  # untimed
                link.can_execute(awake, timeout_s=5)
                open_ones = [awake]
    finally:
        link.close()
    return timings


async def link_pipelined(endpoint: str, total: int,
                         verdicts: Counter[str]) -> tuple[float, list[float]]:
    """Decisions/s with WINDOW requests always in flight, and each one's latency."""
    prepare(endpoint, "bench").close()  # marks and equity are the engine's, not per link
    timings: list[float] = []
    async with AsyncBotLink(endpoint, bot_id="bench", version="bench") as link:
        await link.hello(timeout_s=10)
        await asyncio.sleep(LONE_AFTER_S)
        async def worker(share: range) -> None:
            for n in share:
                order = make_order("async", n, "bench")  # stamped as it is sent
                start = time.perf_counter()
                decision = await link.can_execute(order, timeout_s=5)
                timings.append(time.perf_counter() - start)
                verdicts[decision.code] += 1
                link.report_order_update(cancelled(order))

        start = time.perf_counter()
        await asyncio.gather(*(worker(range(w, total, WINDOW)) for w in range(WINDOW)))
        elapsed = time.perf_counter() - start
    return total / elapsed, timings


def dealer_order(prefix: str, i: int) -> tuple[bytes, bytes]:
    """A bare DEALER's order frame, stamped now as a bot stamps it when it sends (an
    order made seconds ahead reads to the auditor as decided that late), and the
    update that ends it."""
    order = make_order(prefix, i, "bench")
    return encode(order), encode(cancelled(order))


def dealer_round_trips(endpoint: str, samples: int) -> list[float]:
    """``round_trips`` of bench_gateway; the orders end in batches between the timed
    round trips, as in :func:`link_round_trips`."""
    sock = dealer(endpoint, hello_as="bench")
    timings: list[float] = []
    open_ones: list[bytes] = []
    try:
        for i in range(samples + 500):
            payload, update = dealer_order("dealer", i)
            start = time.perf_counter()
            sock.send(payload)
            sock.recv()
            if i >= 500:  # the first 500 warm up caches and connections
                timings.append(time.perf_counter() - start)
            open_ones.append(update)
            if len(open_ones) == ENDED_EVERY:
                for ended in open_ones:
                    sock.send(ended)
                time.sleep(SETTLE_S)
                awake, awake_update = dealer_order("dealer-awake", i // ENDED_EVERY)
                sock.send(awake)  # untimed
                sock.recv()
                open_ones = [awake_update]
    finally:
        sock.close()
    return timings


def dealer_pipelined(endpoint: str, total: int) -> float:
    """``pipelined`` of bench_gateway, sending each order's update after its reply
    (the gateway answers one DEALER in order, so the n-th reply is the n-th order's)."""
    sock: zmq.Socket[bytes] = dealer(endpoint, hello_as="bench")
    time.sleep(LONE_AFTER_S)
    sent = received = 0
    updates: deque[bytes] = deque()
    start = time.perf_counter()
    try:
        while received < total:
            while sent < total and sent - received < WINDOW:
                payload, update = dealer_order("dealer-flight", sent)
                sock.send(payload)
                updates.append(update)
                sent += 1
            sock.recv()
            sock.send(updates.popleft())
            received += 1
    finally:
        sock.close()
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--spin-us", type=int, default=None,
                        help="the kernel's gateway.spin_us (default: as shipped, 300; "
                        "0 lets its loop sleep at once, as the raw echo server does)")
    parser.add_argument("--shadow", action="store_true",
                        help="measure what shadow limits add to the gate, and nothing else")
    parser.add_argument("--rounds", type=int, default=5,
                        help="with --shadow: rounds of the three kernels (no shadow, agreeing, "
                        "denying every order), each round one of each in that order")
    args = parser.parse_args()
    if args.shadow:
        shadow_costs(args.samples, args.spin_us, args.rounds)
        return
    total = 4 * args.samples
    payload_size = len(encode(make_order("raw", 0, "bench")))

    echo_endpoint = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    echo = start_script(ECHO_SERVER, echo_endpoint)
    try:
        def raw_payload(i: int) -> bytes:
            return encode(make_order("raw", i, "bench"))

        raw = percentiles(round_trips(echo_endpoint, raw_payload, args.samples))
        raw_rate = pipelined(echo_endpoint, raw_payload, total, WINDOW)
    finally:
        echo.kill()
        echo.wait(5)

    sync_verdicts: Counter[str] = Counter()
    async_verdicts: Counter[str] = Counter()
    with running_kernel(risk_yaml=BENCH_LIMITS, spin_us=args.spin_us) as kernel:
        link_lat = percentiles(link_round_trips(kernel.link, args.samples, sync_verdicts))
        rate, timings = asyncio.run(link_pipelined(kernel.link, total, async_verdicts))
        flight = percentiles(timings)
        prepare(kernel.link, "bench").close()

        def dealer_payload(i: int) -> bytes:
            return encode(make_order("dealer", i, "bench"))

        bare = percentiles(dealer_round_trips(kernel.link, args.samples))
        bare_rate = dealer_pipelined(kernel.link, total)

    # The same kernel without the risk engine: the gateway's fail-closed DENY, still
    # journaled before the reply. The difference is what the risk engine costs.
    with running_kernel(kernel_extra=NO_RISK_ENGINE, spin_us=args.spin_us) as kernel:
        closed = percentiles(round_trips(kernel.link, dealer_payload, args.samples,
                                         hello_as="bench"))
        closed_rate = pipelined(kernel.link, lambda i: dealer_payload(10**7 + i), total,
                                WINDOW, hello_as="bench")

    spin = "as shipped" if args.spin_us is None else f"{args.spin_us} µs"
    print(f"order gate through kernel run (risk engine, journal synchronous=normal, "
          f"spin {spin}), "
          f"{args.samples} samples at 1 in flight, {total} at {WINDOW} in flight, "
          f"{payload_size}-byte order payload")
    print(f"host: {machine()}")
    print(row("raw pyzmq DEALER/ROUTER echo", raw))
    print(row("BotLink.can_execute, 1 in flight", link_lat))
    print(row("bare DEALER -> gate, 1 in flight", bare))
    print(row(f"AsyncBotLink, {WINDOW} in flight", flight))
    print(row("bare DEALER -> closed gate (no engine)", closed))
    print(f"verdicts: 1 in flight {dict(sync_verdicts)}; {WINDOW} in flight "
          f"{dict(async_verdicts)}")
    link_ratio, closed_ratio = link_lat["p50"] / raw["p50"], closed["p50"] / raw["p50"]
    print(f"p50 ratio to raw echo: BotLink {link_ratio:.2f}x (budget 2.5x, "
          f"{verdict(link_ratio <= 2.5)}), bare DEALER {bare['p50'] / raw['p50']:.2f}x; "
          f"p99 BotLink {link_lat['p99'] / 1000:.2f} ms (budget < 1 ms, "
          f"{verdict(link_lat['p99'] < 1000)})")
    print(f"{WINDOW} in flight: raw echo {raw_rate:,.0f} msgs/s; gate via AsyncBotLink "
          f"{rate:,.0f} decisions/s (ratio {rate / raw_rate:.2f}; budget >= 15,000/s, "
          f"{verdict(rate >= 15_000)}), via bare DEALER "
          f"{bare_rate:,.0f}/s (ratio {bare_rate / raw_rate:.2f})")
    print(f"without the risk engine (closed gate, journaled): p50 {closed['p50']:.0f} µs "
          f"({closed_ratio:.2f}x raw; budget 1.5x, {verdict(closed_ratio <= 1.5)}), "
          f"{closed_rate:,.0f} decisions/s; the engine adds "
          f"{bare['p50'] - closed['p50']:.0f} µs at p50")


def machine() -> str:
    """The CPU model and the load average, where the platform says them."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ""
    if hasattr(os, "getloadavg"):  # not on Windows
        load = ", load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} CPUs{load}"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


SHADOWS = {"no shadow limits": None, "shadow agrees": BENCH_LIMITS,
           "shadow denies every order": BENCH_LIMITS.replace("max_order_notional: 1000000",
                                                              "max_order_notional: 10")}
"""The bench orders are 50 USDT: a shadow fat-finger limit of 10 denies each one."""


def shadow_costs(samples: int, spin_us: int | None, rounds: int) -> None:
    """p50 of the gate at 1 in flight per shadow setting, one kernel each, in rounds of
    the three settings (ABCABC...), so the machine's drift falls on all three alike;
    each round's shadow kernels are compared with that round's kernel without."""
    names = list(SHADOWS)
    p50s: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    verdicts: Counter[str] = Counter()
    print(f"order gate through kernel run, BotLink at 1 in flight, {samples} samples per "
          f"kernel, {rounds} rounds of {len(names)} kernels ({' / '.join(names)})", flush=True)
    for n in range(1, rounds + 1):
        for name, shadow in SHADOWS.items():
            files = {} if shadow is None else {"risk.shadow.yaml": shadow}
            with running_kernel(risk_yaml=BENCH_LIMITS, files=files, spin_us=spin_us) as kernel:
                process = psutil.Process(kernel.pid)
                before = sum(process.cpu_times()[:2])
                timings = link_round_trips(kernel.link, samples, verdicts)
                orders = samples + 500 + (samples + 500) // ENDED_EVERY  # with the untimed
                cpus[name].append((sum(process.cpu_times()[:2]) - before) / orders * 1e6)
                p50s[name].append(percentiles(timings)["p50"])
        base, agrees, denies = (p50s[name][-1] for name in names)
        cpu = " / ".join(f"{cpus[name][-1]:.0f}" for name in names)
        print(f"round {n:>2}: p50 {base:6.1f} / {agrees:6.1f} / {denies:6.1f} µs; beside no "
              f"shadow {agrees - base:+6.1f} / {denies - base:+6.1f} µs; kernel CPU per "
              f"order {cpu} µs", flush=True)
    print(f"verdicts {dict(verdicts)}; p50, median of the rounds: "
          + " / ".join(f"{statistics.median(p50s[name]):.1f}" for name in names) + " µs")
    bases = p50s[names[0]]
    for name in names[1:]:
        print(paired(f"{name}, beside no shadow", p50s[name], bases) + " (budget + 30 µs)")
    if rounds > 1:  # the same comparison with nothing to find: how large the noise is
        print(paired("no shadow, next round beside this", bases[1:], bases[:-1]) +
              " (noise: the same setting twice)")
    for name in names[1:]:
        print(paired(f"kernel CPU per order, {name}", cpus[name], cpus[names[0]]))
    if spin_us != 0:
        print("(the kernel's CPU includes its loop's spin after each order: --spin-us 0 "
              "shows the work alone)")
    decide_us, judge_us = in_process_costs()
    print(f"in process, best of 5 x 20,000: the engine's decide {decide_us:.1f} µs per order; "
          f"the shadow's judge {judge_us:.1f} µs (made after the reply is sent, so it takes "
          "the loop's time between orders, not the bot's; the round trips above also carry "
          "the machine's noise)")
    two, three = asyncio.run(row_in_commit(3000))
    print(f"in process, a real journal (JSONL copy on), p50 of 3,000 commits each: request "
          f"and decision rows {two:.1f} µs, with a shadow.decision row too {three:.1f} µs: "
          f"{three - two:+.1f} µs on the commit of the burst after a differing order")


async def row_in_commit(samples: int) -> tuple[float, float]:
    """p50 µs of the gateway's ``commit_now`` of an order's two rows, and of the same
    with a ``shadow.decision`` row queued before them, in turn on one journal."""
    differed = ShadowDecisionDiffered(
        request_id="bench", bot_id="bench", symbol="BTCUSDT", side="buy", qty=0.001,
        price=PRICE, verdict="ALLOW", code="allowed", shadow_verdict="DENY",
        shadow_code="fat_finger_notional", ts=time.time(),
        shadow_reason="order notional 50 USDT is over max_order_notional 10 USDT")
    out: tuple[list[float], list[float]] = ([], [])
    with tempfile.TemporaryDirectory(prefix="bench-rows-") as tmp:
        journal = await Journal.open(Path(tmp) / "journal.db", jsonl_dir=Path(tmp) / "logs")
        try:
            for i in range(2 * (samples + 250)):
                if i % 2:
                    journal.append(journal_entry(differed, "risk"))
                for kind in ("order_request", "order_decision"):
                    journal.append(JournalEntry(ts=time.time(), topic="order", source="gateway",
                                                kind=kind, payload=encode(make_order("r", i, "b"))))
                started = time.perf_counter()
                journal.commit_now()
                if i >= 500:
                    out[i % 2].append(time.perf_counter() - started)
                await asyncio.sleep(SETTLE_S / 4)  # the JSONL copy and the writer run
        finally:
            await journal.close()
    return percentiles(out[0])["p50"], percentiles(out[1])["p50"]


def paired(label: str, values: list[float], bases: list[float]) -> str:
    """The median of the round-by-round differences, and their spread."""
    deltas = [v - b for v, b in zip(values, bases, strict=False)]
    return (f"{label:<50} median {statistics.median(deltas):+6.1f} µs over {len(deltas)} "
            f"rounds (min {min(deltas):+.1f} .. max {max(deltas):+.1f})")


def in_process_costs() -> tuple[float, float]:
    """µs per order of the pure decide and of the shadow's judge, on one anchored state."""
    limits = msgspec.convert(yaml.safe_load(BENCH_LIMITS), RiskLimits)
    shadow = Shadow(msgspec.convert(yaml.safe_load(SHADOWS["shadow agrees"] or ""), RiskLimits))
    state = initial_state(limits, 1_000.0)
    beat = Heartbeat(bot_id="bench", seq=1, ts=1_000.0, uptime_s=1.0, equity=1_000_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, last_tick_ts=1_000.0,
                     marks={"BTCUSDT": PRICE})
    state, _ = apply_heartbeat(state, beat, limits, 1_000.0)
    order = make_order("inproc", 0, "bench")
    decision, _ = decide(order, state, limits, 1_000.0)
    n = 20_000
    decide_s = min(timeit.repeat(lambda: decide(order, state, limits, 1_000.0),
                                 number=n, repeat=5))
    judge_s = min(timeit.repeat(lambda: shadow.judge(order, state, decision, 1_000.0),
                                number=n, repeat=5))
    return decide_s / n * 1e6, judge_s / n * 1e6


if __name__ == "__main__":
    main()
