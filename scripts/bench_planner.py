"""Planner speed: plans per second from requests with 500 bars each, and the p99 of one plan.

One plan here is everything ``kernel plan`` and the live planner do for a
request without verdicts: build the snapshot from the bars (session HOD, LOD,
VWAP), run the three built-in analyzers (Technical on all 500 bars, Macro on a
cross-asset snapshot, Wild Card with the shipped event calendar), then
``build_plan``. Requests mix stocks, index ETFs and crypto, every style, rising
and falling markets, so the figure covers TRADE and NO TRADE paths alike. A
second figure adds reading the request from JSON (``kernel plan``'s parser).

Budget (issue 7): p99 of one plan under 5 ms, options excluded. Run from the
project root with the project installed, e.g. ``.venv/bin/python
scripts/bench_planner.py``; a few seconds.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

if importlib.util.find_spec("planner") is None:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from kernel.config import load_yaml
from kernel.console._plan_request import load_request
from planner.builder import build_plan
from planner.completion import complete_verdicts
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.messages import CrossAssetSnapshot, TradePlan
from planner.parts import Account, AssetClass, Bar, Style
from planner.snapshot import make_snapshot

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 5.0
BARS = 500
KINDS: list[tuple[str, AssetClass, Style, float]] = [
    ("AAPL", "stock", "DAY", 230.0), ("SPY", "index_etf", "SWING", 690.0),
    ("NVDA", "stock", "INVESTMENT", 130.0), ("BTCUSDT", "crypto", "SCALP", 64_000.0),
    ("ETHUSDT", "crypto", "DAY", 3_000.0),
]


class Request(msgspec.Struct, frozen=True):
    symbol: str
    asset_class: AssetClass
    style: Style
    bars: list[Bar]
    atr_30d: float
    cross: CrossAssetSnapshot


def make_requests(count: int, seed: int) -> list[Request]:
    """Random-walk markets with a drift, so the analyzers find trends, levels and chop."""
    rng = random.Random(seed)
    t0 = 1_773_149_400.0  # 2026-03-10 13:30 UTC: a New York session, CPI the next day
    out = []
    for i in range(count):
        symbol, asset_class, style, price = KINDS[i % len(KINDS)]
        drift, vol = rng.uniform(-0.0004, 0.0004), rng.uniform(0.0005, 0.002)
        bars, close = [], price
        for j in range(BARS):
            opened = close
            close = opened * math.exp(rng.gauss(drift, vol))
            high = max(opened, close) * (1 + abs(rng.gauss(0, vol / 3)))
            low = min(opened, close) * (1 - abs(rng.gauss(0, vol / 3)))
            bars.append(Bar(ts=t0 - 60 * (BARS - j), open=opened, high=high, low=low,
                            close=close, volume=rng.uniform(100, 5_000)))
        closes = [price * (1 + rng.gauss(drift * 50, 0.01) * k / 60) for k in range(60)]
        cross = CrossAssetSnapshot(ts=t0, index_closes=closes, btc_closes=closes,
                                   vix=rng.uniform(12, 30), vix_change_pct=rng.uniform(-8, 8),
                                   dollar_change_pct=rng.uniform(-0.5, 0.5),
                                   yield_change_bp=rng.uniform(-8, 8),
                                   funding_rate=rng.uniform(-0.0008, 0.0008))
        out.append(Request(symbol, asset_class, style, bars, price * 0.025, cross))
    return out


def plan_once(req: Request, config: PlannerConfig, calendar: EventCalendar) -> TradePlan:
    snapshot = make_snapshot(req.symbol, req.bars, asset_class=req.asset_class,
                             atr_30d=req.atr_30d)
    now = snapshot.ts + 60
    v = complete_verdicts(snapshot, req.style, now, config, cross_asset=req.cross,
                          calendar=calendar)
    return build_plan(v.technical, v.macro, v.wildcard, snapshot, Account(size=100_000.0),
                      req.style, now, config)


def as_file(req: Request, folder: Path, index: int) -> Path:
    raw = {"symbol": req.symbol, "instrument": req.asset_class, "style": req.style,
           "account": {"size": 100_000}, "bars": req.bars, "atr_30d": req.atr_30d,
           "cross_asset": req.cross}
    path = folder / f"request-{index}.json"
    path.write_bytes(msgspec.json.encode(raw))
    return path


def measure(work: Sequence[Callable[[], TradePlan]],
            rounds: int) -> tuple[list[float], Counter[str]]:
    for job in work[:20]:  # warm-up
        job()
    samples, decisions = [], Counter[str]()
    for _ in range(rounds):
        for job in work:
            start = time.perf_counter()
            plan = job()
            samples.append(time.perf_counter() - start)
            decisions[f"{plan.decision} {plan.direction or ''}".strip()] += 1
    return samples, decisions


def report(label: str, samples: list[float], decisions: Counter[str]) -> float:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3
    rate = len(samples) / sum(samples)
    print(f"  {label:<44} {rate:8,.0f} plans/s  p50 {p50:5.2f} ms  p99 {p99:5.2f} ms  "
          f"max {ordered[-1] * 1e3:5.2f} ms")
    print(f"  {'':<44} {len(samples):,} plans: "
          + ", ".join(f"{k} {n}" for k, n in sorted(decisions.items())))
    return p99


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    config = load_yaml(ROOT / "config" / "planner.yaml", PlannerConfig)
    calendar = load_yaml(ROOT / "config" / "events.yaml", EventCalendar)
    requests = make_requests(args.requests, args.seed)
    gc.collect()
    gc.freeze()  # the 100,000 request bars are the bench's, not the planner's: a live planner
    # holds 500 bars a symbol, so full collections over all of them would be a bench artefact
    print(f"bench_planner: python {sys.version.split()[0]}, {args.requests} requests of "
          f"{BARS} bars, {args.rounds} rounds; budget p99 < {BUDGET_MS:g} ms per plan")
    in_memory = [lambda r=r: plan_once(r, config, calendar) for r in requests]
    p99 = report("snapshot + 3 built-in analyzers + build_plan", *measure(in_memory, args.rounds))
    with tempfile.TemporaryDirectory(prefix="bench-planner-") as tmp:
        files = [as_file(r, Path(tmp), i) for i, r in enumerate(requests)]

        def from_file(path: Path) -> TradePlan:
            inputs = load_request(path, config, calendar)
            v = inputs.verdicts
            return build_plan(v.technical, v.macro, v.wildcard, inputs.snapshot, inputs.account,
                              inputs.style, inputs.now, config)

        jobs = [lambda p=p: from_file(p) for p in files]
        report("the same from a JSON request file", *measure(jobs, max(1, args.rounds // 2)))
    verdict = "within" if p99 < BUDGET_MS else "OVER"
    print(f"  p99 of one plan {p99:.2f} ms: {verdict} the {BUDGET_MS:g} ms budget")
    return 0 if p99 < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
