#!/usr/bin/env python3
"""The risk moderator's cost: its summary, its prompt, and what it does to the order gate.

Measures, in one run:
  * building the summary and the prompt from 50 and 500 closed trades (the pure
    code that runs on the kernel's loop), and the prompt's size in bytes and in
    estimated tokens;
  * the order gate's round trip (bare DEALER, 1 in flight) through ``kernel run``
    with the moderator disabled, with it moderating offline every 50 ms, and with
    it asking a slow local Messages API (real SDK, 0.3 s per answer) every 50 ms,
    with 500 trades in its summary. The moderator must never block the gate: the
    LLM call is awaited on the SDK's async client, so only the summary building
    and the answer's decoding run on the loop.

Usage: scripts/bench_moderator.py [--samples N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.moderator._book import ModeratorBook
from agents.moderator._prompt import SYSTEM, user_prompt
from agents.moderator.llm_config import ModeratorConfig, Triggers
from agents.moderator.llm_text import estimate_tokens
from agents.moderator.rules import build_summary, offline_advice
from bus.codec import encode
from bus.protocol import Fill
from kernel.journal import read_journal
from scripts._bench_support import percentiles, row, running_kernel
from scripts.bench_gate import BENCH_LIMITS, make_order, prepare
from scripts.bench_gateway import round_trips
from tests.support.messages_api import messages_api, tool_answer  # the tests' local server
from tests.support.moderator_world import NOW, anomaly, bot, macro, risk
from tests.support.moderator_world import round_trips as trips

QUIET = Triggers(on_halt=False, daily_loss_fraction=0, loss_streak=0)
TRADES = 500
MODERATOR_YAML = f"interval_s: 0.05\nmin_gap_s: 0\nlast_trades: {TRADES}\n" \
                 "triggers: {on_halt: false, daily_loss_fraction: 0, loss_streak: 0}\n"


def summary_cost(trades: int, reps: int) -> tuple[float, float, int, int]:
    """(median ms to build summary + prompt, ms for the offline answer, bytes, tokens)."""
    cfg = msgspec_config(trades)
    book = ModeratorBook(mode="demo", keep_trades=trades)
    pnls = [(1.5 if i % 3 else -1.0) for i in range(trades)]
    for message in [risk(daily_loss=120, losses=1), macro(), bot("demo"), anomaly(),
                    *trips(pnls)]:
        book.update(message, NOW, QUIET)
    builds, answers = [], []
    prompt = ""
    for _ in range(reps):
        start = time.perf_counter()
        summary = build_summary(book, NOW, "periodic", cfg, 0.25)
        prompt = user_prompt(summary)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        offline_advice(summary, cfg)
        answers.append(time.perf_counter() - start)
    return (statistics.median(builds) * 1000, statistics.median(answers) * 1000,
            len((SYSTEM + prompt).encode()), estimate_tokens(SYSTEM, prompt))


def msgspec_config(trades: int) -> ModeratorConfig:
    import msgspec

    return msgspec.convert({"last_trades": trades}, ModeratorConfig)


def feed_trades(link_endpoint: str) -> None:
    """500 closed round trips over the bot link, so the moderator's summary is full."""
    link = prepare(link_endpoint, "bench-fills")
    try:
        for i in range(TRADES):
            for side, price in (("buy", 50_000.0), ("sell", 50_000.0 + (5 if i % 3 else -4))):
                link.report_fill(Fill(request_id=f"fill-{i}-{side}", symbol="BTCUSDT",
                                      side=side, qty=0.001, price=price,  # type: ignore[arg-type]
                                      ts=time.time(), bot_id="bench-fills"))
        time.sleep(0.5)
    finally:
        link.close()


def gate(label: str, samples: int, *, files: dict[str, str], kernel_extra: str = "",
         key: bool = False) -> tuple[dict[str, float], int]:
    """Gate latency with this moderator setup, and how many moderations ran meanwhile."""
    if key:
        os.environ["ANTHROPIC_API_KEY"] = "sk-bench-local-server"
    else:
        os.environ.pop("ANTHROPIC_API_KEY", None)
    with running_kernel(risk_yaml=BENCH_LIMITS, kernel_extra=kernel_extra,
                        files=files) as kernel:
        feed_trades(kernel.link)
        prepare(kernel.link, "bench-dealer").close()
        journal = kernel.root / "data" / "journal.sqlite3"
        before = len(read_journal(journal, topic_prefix="moderator.advice", limit=10**6))
        timings = round_trips(kernel.link, lambda i: encode(make_order("d", i, "bench-dealer")),
                              samples, hello_as="bench-dealer")
        after = len(read_journal(journal, topic_prefix="moderator.advice", limit=10**6))
    os.environ.pop("ANTHROPIC_API_KEY", None)
    figures = percentiles(timings)
    print(row(label, figures), f" moderations meanwhile: {after - before}", flush=True)
    return figures, after - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()

    print("summary + prompt (pure, on the kernel loop), median of repeated builds:")
    for trades, reps in ((50, 400), (500, 60)):
        build_ms, offline_ms, size, tokens = summary_cost(trades, reps)
        print(f"  {trades:>4} trades: build {build_ms:6.3f} ms, offline answer "
              f"{offline_ms:6.4f} ms, prompt {size:,} bytes ~ {tokens:,} tokens "
              "(system + user, 3.5 chars/token)")

    print(f"\norder gate round trip, bare DEALER, 1 in flight, {args.samples} samples; "
          f"moderator summaries hold {TRADES} trades:", flush=True)
    offline = {"llm.yaml": "enabled: false\n", "moderator.yaml": MODERATOR_YAML}
    off, _ = gate("moderator disabled", args.samples, files=offline,
                  kernel_extra="actors: {moderator: {enabled: false}}\n")
    alone, runs = gate("moderator offline, every 50 ms", args.samples, files=offline)
    with messages_api(tool_answer({"action": "OK", "reason": "bench"}, delay_s=0.3)) as api:
        slow = {"llm.yaml": f"base_url: {api.base_url}\nretries: 0\ntimeout_s: 10\n"
                            "deadline_s: 10\ndaily_token_budget: 1000000000\n",
                "moderator.yaml": MODERATOR_YAML}
        llm, calls = gate("moderator LLM (0.3 s answers), 50 ms", args.samples, files=slow,
                          key=True)
        served = len(api.requests)
    print(f"\nLLM calls served by the slow local server during that kernel's life: {served}")
    print(f"gate p99 with the moderator offline: {alone['p99'] / off['p99']:.2f}x disabled "
          f"({runs} moderations); with slow LLM calls in flight: "
          f"{llm['p99'] / off['p99']:.2f}x disabled ({calls} moderations)")


if __name__ == "__main__":
    main()
