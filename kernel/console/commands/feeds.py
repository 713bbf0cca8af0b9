"""``kernel feeds check``: fetch once from every configured feed and show what came back.

For each feed that runs: the symbols, the newest data's time (UTC) and whether
it is stale, or the error; for each feed that is off, why. Exit 0 when every
configured feed answered, 8 when one failed, 2 on a config error. It is a probe
from this process: nothing is published or journaled, and no key is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from agents.feeds.probe import Probe, probe_all
from agents.feeds.sources import CHAINS, open_sources
from kernel.settings import load_settings
from kernel.untrusted import ident, one_line, quoted

EXIT_FAILED = 8
"""A configured feed failed (documented in docs/feeds.md; 1 stays "internal error")."""


def add_feeds_commands(sub: Any, config_dir: Callable[[argparse.Namespace], Path]) -> None:
    feeds = sub.add_parser("feeds", help="the live market-data feeds (config/feeds.yaml)")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    check = feeds_sub.add_parser("check", help="fetch once from every configured feed")
    check.add_argument("--json", action="store_true", help="print JSON lines")
    check.set_defaults(handler=lambda a: feeds_check(a, config_dir(a)))


def feeds_check(args: argparse.Namespace, folder: Path) -> int:
    settings = load_settings(folder)
    cfg = settings.feeds
    symbols = list(settings.options.live.symbols)
    sources = open_sources(cfg, option_symbols=symbols)
    underlyings = [s.upper() for s in (cfg.massive.options.underlyings or symbols)]
    now = time.time()
    probes = probe_all(sources, underlyings, now=now,
                       chain_max_age_s=settings.options.live.chain_max_age_s)
    if args.json:
        for probe in probes:
            sys.stdout.write(json.dumps({**probe.__dict__, "symbols": list(probe.symbols)}) + "\n")
        for name, why in sources.off.items():
            sys.stdout.write(json.dumps({"feed": name, "ok": None, "detail": why}) + "\n")
    else:
        out = Console(highlight=False)
        for probe in probes:
            out.print(_probe_line(probe, now))
        for name, why in sources.off.items():
            if not (name == CHAINS and "with massive" in why):
                out.print(Text(one_line(f"{ident(name)}: {why}")))
        if not probes:
            out.print(Text("no feed is configured: nothing was fetched (config/feeds.yaml)"))
    return EXIT_FAILED if any(not p.ok for p in probes) else 0


def _probe_line(probe: Probe, now: float) -> Text:
    if not probe.ok:
        return Text.assemble((f"{probe.feed}: FAILED", "red"), " ",
                             one_line(quoted(probe.detail, 400)))
    when = "no time given"
    if probe.as_of is not None:
        stamp = datetime.fromtimestamp(probe.as_of, UTC).strftime("%Y-%m-%d %H:%M UTC")
        when = f"as of {stamp} ({_age(now - probe.as_of)} old)"
    line = Text(one_line(f"{probe.feed}: ok, {', '.join(ident(s) for s in probe.symbols)}; "
                         f"{when}; {probe.detail}"))
    if probe.stale:
        line.append(" STALE", style="yellow")
    return line


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
