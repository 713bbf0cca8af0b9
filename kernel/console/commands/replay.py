"""``kernel replay --day D | --from D --to D [--bot ID] --risk FILE [--json]``.

Replays a stretch of the journal through the pure risk engine under the limits
of FILE and compares every decision with the one actually made (docs/replay.md);
a fleet's journal one ledger per bot, with the portfolio's limits across them.
Read-only: it works with the kernel running or stopped and cannot change the
record. Days are trading days in the timezone of FILE (``risk.yaml``'s).

Exit codes beyond those of ``kernel``: 3 the journal is missing or unreadable,
8 the stretch needs rows that were archived (a gap).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from agents.audit.journal import day_bounds
from agents.risk.replay_journal import JournalGap, replay_window
from kernel.config import load_yaml
from kernel.journal_file import open_failure
from kernel.settings import Settings
from kernel.untrusted import ident, one_line
from risk.limits import RiskLimits
from risk.rerun_report import Flip, Report

EXIT_NO_JOURNAL = 3
EXIT_GAP = 8
SHOWN_FLIPS = 40
err = Console(stderr=True, highlight=False, soft_wrap=True)
SettingsOf = Callable[[argparse.Namespace], Settings]


def add_replay_command(sub: Any, settings_of: SettingsOf) -> None:
    replay = sub.add_parser("replay", help="re-run a journaled day through other risk limits "
                            "and list the decisions that would change")
    when = replay.add_mutually_exclusive_group(required=True)
    when.add_argument("--day", type=_day, help="the trading day, YYYY-MM-DD")
    when.add_argument("--from", dest="first", type=_day, help="first day of a range")
    replay.add_argument("--to", dest="last", type=_day, help="last day of a range (inclusive; "
                        "default: the --from day)")
    replay.add_argument("--bot", help="show only this bot's flips (and, in a fleet, its "
                        "part); every bot is still replayed")
    replay.add_argument("--risk", type=Path, required=True,
                        help="the risk.yaml to replay with (the live one reproduces the day)")
    replay.add_argument("--multiplier", type=float, help="hold the risk multiplier at this "
                        "value throughout (within FILE's bounds), as a moderator's cut would")
    replay.add_argument("--all", action="store_true",
                        help=f"list every flip (default: the first {SHOWN_FLIPS})")
    replay.add_argument("--json", action="store_true", help="print JSON (docs/replay.md)")
    replay.set_defaults(handler=lambda args: _run(args, settings_of(args)))


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    limits = load_yaml(args.risk, RiskLimits)  # a ConfigError names the file and the field
    first = args.day or args.first
    last = args.day or args.last or first
    if last < first:
        err.print(f"[red]--to {last} is before --from {first}[/red]")
        return 2
    bounds = limits.risk_multiplier
    if args.multiplier is not None and not bounds.min <= args.multiplier <= bounds.max:
        err.print(Text(one_line(f"--multiplier {args.multiplier:g} is outside risk_multiplier "
                                f"[{bounds.min:g}, {bounds.max:g}] of {args.risk}"), "red"))
        return 2
    start = day_bounds(first, limits.utc_offset_s)[0]
    end = day_bounds(last, limits.utc_offset_s)[1]
    try:
        found = replay_window(settings.journal_path, start, end, limits,
                              multiplier=args.multiplier, accounts=settings.paths.accounts())
    except FileNotFoundError as exc:
        err.print(Text.assemble(("no journal:", "red"), " ", one_line(exc)))
        return EXIT_NO_JOURNAL
    except sqlite3.Error as exc:
        err.print(Text.assemble(("unreadable journal:", "red"), " ",
                                one_line(open_failure(settings.journal_path, exc))))
        return EXIT_NO_JOURNAL
    except JournalGap as exc:
        err.print(Text.assemble(("cannot replay:", "red"), " ", one_line(exc, 2000)))
        return EXIT_GAP
    if args.bot:
        found = only_bot(found, args.bot)
    head = {"from": first, "to": last, "risk": str(args.risk), "bot": args.bot or None,
            "multiplier": args.multiplier}
    if args.json:
        sys.stdout.write(msgspec.json.encode({**head, **as_json(found)}).decode() + "\n")
    else:
        show(found, head, Console(highlight=False, soft_wrap=True), every=args.all)
    return 0


def only_bot(found: Report, bot_id: str) -> Report:
    """The flips of one bot; one engine's counts and trips stay the engine's (one ledger),
    a fleet's keep this bot's part and the portfolio's total."""
    return msgspec.structs.replace(
        found, flips=[f for f in found.flips if f.bot_id == bot_id],
        bots={b: part for b, part in found.bots.items() if b == bot_id})


def as_json(found: Report) -> dict[str, Any]:
    """The report as JSON; one engine's without the fleet's fields (``bots``, a trip's
    ``bot_id``), as before there were fleets."""
    out: dict[str, Any] = msgspec.to_builtins(found)
    if not found.bots:
        del out["bots"]
        for trip in out["trips"]:
            del trip["bot_id"]
    return out


def show(found: Report, head: dict[str, Any], out: Console, *, every: bool = False) -> None:
    """The report for people: counts, exactness, flips, trips, outcome."""
    c = found.counts
    span = head["from"] if head["from"] == head["to"] else f"{head['from']} to {head['to']}"
    out.print(Text(f"replay of {span} with {one_line(head['risk'])}"))
    for why in found.passed_over:  # the journal's words about its own rows, escaped anyway
        out.print(Text.assemble(("note:", "yellow"), " ", one_line(why, 1000)))
    if found.bots:
        show_bots(found, out)
        out.print("portfolio (every bot's orders; equity summed):")
    out.print(f"orders {c.orders:,}: same {c.same:,}, ALLOW->DENY {sum(c.allow_to_deny.values()):,}"
              f" {_codes(c.allow_to_deny)}, DENY->ALLOW {sum(c.deny_to_allow.values()):,}"
              f" {_codes(c.deny_to_allow)}, other DENY code {c.other_code:,}, "
              f"kept as live (kernel denials, fleet orders before every save) {c.by_kernel:,}")
    if found.exact:
        out.print(f"exact: no verdict flipped (through journal row #{found.exact_through_seq})")
    else:
        out.print(f"exact through journal row #{found.exact_through_seq} (the first flip); "
                  "every row after it is approximate: the real fills came from the real "
                  "decisions")
    flips = found.flips if every else found.flips[:SHOWN_FLIPS]
    for flip in flips:
        out.print(_flip_line(flip))
    if len(flips) < len(found.flips):
        out.print(f"... and {len(found.flips) - len(flips):,} more (--all lists them)")
    for trip in found.trips:
        tag = "tripped live too" if trip.live else "NEW"
        who = f"{ident(trip.bot_id)} " if trip.bot_id else ""
        out.print(Text(f"trip {_time(trip.ts)} {who}{trip.code} ({tag}): "
                       f"{one_line(trip.reason)}"))
    for ts, code in found.live_only_trips:
        out.print(f"trip {_time(ts)} {code}: tripped live, not under these limits")
    _outcome(found, out)


def show_bots(found: Report, out: Console) -> None:
    """A fleet's replay: one line per bot (its own ledger and limits) and its outcome."""
    for bot, part in found.bots.items():
        c = part.counts
        exact = ("exact" if part.exact else
                 f"exact through journal row #{part.exact_through_seq}")
        out.print(Text(f"bot {ident(bot)}: orders {c.orders:,}: same {c.same:,}, ALLOW->DENY "
                       f"{sum(c.allow_to_deny.values()):,} {_codes(c.allow_to_deny)}, "
                       f"DENY->ALLOW {sum(c.deny_to_allow.values()):,} "
                       f"{_codes(c.deny_to_allow)}, other DENY code {c.other_code:,}, kept "
                       f"{c.by_kernel:,}; {exact}; trips {part.trips:,}"))
        o = part.outcome
        if o.pnl is not None:
            halts = "" if o.halted_at is None else \
                f" (had its new halts happened: PnL {o.pnl_with_halts:+.2f} USDT)"
            out.print(f"  PnL {o.pnl:+.2f} USDT, max drawdown {o.max_drawdown:.2f} USDT{halts}")


def _flip_line(flip: Flip) -> Text:
    label = "exact" if flip.exact else "approx"
    return Text(f"#{flip.seq} {_time(flip.ts)} [{label}] {ident(flip.bot_id)} "
                f"{ident(flip.request_id)} {flip.side} {flip.qty:g} {ident(flip.symbol)} @ "
                f"{flip.price:g}: {flip.old_verdict} {flip.old_code} -> {flip.new_verdict} "
                f"{flip.new_code}: {one_line(flip.new_reason, 300)}")


def _outcome(found: Report, out: Console) -> None:
    o = found.outcome
    if o.pnl is None:
        out.print("outcome: no heartbeat in the stretch, no equity to follow")
        return
    out.print(f"outcome: PnL {o.pnl:+.2f} USDT, max drawdown {o.max_drawdown:.2f} USDT")
    if o.halted_at is not None:
        out.print(f"had the new halts happened (from {_time(o.halted_at)}, positions closed "
                  f"at that moment's marks): PnL {o.pnl_with_halts:+.2f} USDT, max drawdown "
                  f"{o.max_drawdown_with_halts:.2f} USDT")


def _codes(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) + ")" if counts \
        else ""


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
