"""``kernel audit verify``, ``kernel report``, ``kernel meta task``: the audit from a shell.

All three read the journal read-only, so they work the same with the kernel
running or stopped, and cannot change the record. ``kernel report`` also writes
the Markdown report to the reports directory and, when a kernel is running,
hands the audit to it over the bus (journaled, published on ``audit.daily``).

Exit codes beyond those of ``kernel`` (see kernel/console/cli.py): 3 the journal is
missing or unreadable, 6 the hash chain is broken, 7 a report or task file
could not be written.
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console

from agents.audit.files import OutputUnwritable, write_report, write_text
from agents.audit.journal import AUDIT_KINDS, build_audit, day_bounds, excerpt, today
from agents.audit.markdown import render
from agents.audit.messages import DailyAuditCompleted
from agents.audit.retention import read_archive
from agents.audit.task import EXCERPT_TOPICS, TASK_KINDS, ExcerptRow, TaskHeader, render_task
from agents.audit.task import task_id as make_task_id
from agents.meta.schedule import previous_day
from kernel.console._kernel_record import record_via_kernel
from kernel.console.chain_verify import ChainReport, verify_journal
from kernel.journal_file import JournalRow, open_failure
from kernel.lockfile import kernel_running
from kernel.settings import Settings
from kernel.summaries import summarize

REPORT_SOURCE = "kernel-report"
EXIT_NO_JOURNAL = 3
EXIT_BROKEN = 6
EXIT_UNWRITABLE = 7

err = Console(stderr=True, highlight=False, soft_wrap=True)
SettingsOf = Callable[[argparse.Namespace], Settings]


def add_audit_commands(sub: Any, settings_of: SettingsOf) -> Any:
    """Register ``audit``, ``report`` and ``meta`` on the ``kernel`` sub-parsers; return
    ``meta``'s sub-parsers, where ``meta run`` (kernel/console/commands/meta.py) goes too."""
    def bind(command: Callable[[argparse.Namespace, Settings], int]) -> Any:
        return lambda args: _guarded(command, args, settings_of(args))

    audit = sub.add_parser("audit", help="check the journal's integrity")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="recompute the journal's hash chain and "
                                  "report the first broken row")
    verify.add_argument("--day", type=_day, help="only the rows of this day (YYYY-MM-DD)")
    verify.add_argument("--archives", action="store_true",
                        help="also check the archived rows (see retention in docs/audit.md)")
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(handler=bind(_verify))

    report = sub.add_parser("report", help="the daily audit of a day (default: today so far)")
    report.add_argument("--day", type=_day, help="YYYY-MM-DD, in risk.yaml's timezone")
    report.add_argument("--format", choices=["md", "json"], default="md")
    report.add_argument("--no-publish", action="store_true",
                        help="do not hand the audit to a running kernel")
    report.set_defaults(handler=bind(_report))

    meta = sub.add_parser("meta", help="the Meta-Agent's tasks")
    meta_sub = meta.add_subparsers(dest="meta_command", required=True)
    task = meta_sub.add_parser("task", help="write a self-contained task into its inbox")
    task.add_argument("kind", choices=TASK_KINDS)
    task.add_argument("--day", type=_day, help="the day to analyse, YYYY-MM-DD (default: the "
                      "last complete day, as for meta run and the scheduler)")
    task.set_defaults(handler=bind(_meta_task))
    return meta_sub


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def _guarded(command: Callable[[argparse.Namespace, Settings], int], args: argparse.Namespace,
             settings: Settings) -> int:
    """Turn an unreadable journal into one line that says what, where, and what to do."""
    try:
        return command(args, settings)
    except FileNotFoundError as exc:
        err.print(f"[red]no journal:[/red] {exc}")
    except sqlite3.Error as exc:
        err.print(f"[red]unreadable journal:[/red] "
                  f"{open_failure(settings.journal_path, exc)}")
    return EXIT_NO_JOURNAL


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    window = day_bounds(args.day, settings.risk.utc_offset_s) if args.day else None
    folder = _archive_dir(settings)
    report = verify_journal(settings.journal_path, window=window,
                            archive_dir=folder if args.archives else None, anchor_dir=folder,
                            log_dir=settings.log_dir, reports_dir=settings.reports_dir)
    if args.json:
        sys.stdout.write(msgspec.json.encode(_verify_json(report)).decode() + "\n")
    else:
        _print_verify(report, args.day, Console(highlight=False, soft_wrap=True))
    return 0 if report.ok else EXIT_BROKEN


def _print_verify(report: ChainReport, day: str | None, out: Console) -> None:
    rows = report.rows
    scope = f"the rows of {day}" if day else "every row after the anchor"
    span = (f"seq {rows.first_seq:,}-{rows.last_seq:,}" if rows.first_seq is not None
            and rows.last_seq is not None else "no rows")
    out.print(f"journal {report.path}: checked {scope}: {rows.checked:,} rows ({span}), "
              f"head {rows.head.hex()[:16]}…")
    out.print(f"anchor: seq {report.anchor.seq:,} ({report.anchor.reason})")
    out.print(f"audits whose recorded head was checked: {report.audits_checked}")
    out.print(f"the journal ends at seq {report.last_seq:,}; {_tail_summary(report)}")
    if report.archived_rows is not None:
        out.print(f"archived rows checked: {report.archived_rows:,}")
    for note in report.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if report.ok:
        out.print("[green]the chain holds[/green]: no row after the anchor was changed, removed "
                  "or inserted, and every record of the tail kept outside the file agrees "
                  "(docs/audit.md says what this can and cannot prove)")
    for problem in report.problems:
        out.print(f"[bold red]BROKEN[/bold red] {problem}")


def _tail_summary(report: ChainReport) -> str:
    """How many outside records of the tail were held against the journal, by kind."""
    if not report.tail:
        return "no record of its tail outside the file to hold it against"
    counts: dict[str, list[int]] = {}
    for check in report.tail:
        seen = counts.setdefault(check.kind, [0, 0, 0])
        seen[("agrees", "archived", "disagrees").index(check.verdict)] += 1
    parts = [f"{sum(n)} {kind} record(s): {n[0]} agree"
             + (f", {n[1]} archived" if n[1] else "") + (f", {n[2]} DISAGREE" if n[2] else "")
             for kind, n in counts.items()]
    return "its tail was held against " + "; ".join(parts)


def _verify_json(report: ChainReport) -> dict[str, object]:
    rows = report.rows
    return {"ok": report.ok, "path": report.path, "checked": rows.checked,
            "first_seq": rows.first_seq, "last_seq": rows.last_seq, "head": rows.head.hex(),
            "anchor": {"seq": report.anchor.seq, "hash": report.anchor.hash.hex(),
                       "reason": report.anchor.reason},
            "broken": msgspec.to_builtins(rows.broken), "audits_checked": report.audits_checked,
            "last_seq_in_journal": report.last_seq, "tail": msgspec.to_builtins(report.tail),
            "archived_rows": report.archived_rows, "problems": list(report.problems),
            "notes": list(report.notes)}


def _report(args: argparse.Namespace, settings: Settings) -> int:
    audit = _audit(settings, args.day)
    if args.format == "json":
        sys.stdout.write(msgspec.json.encode(audit).decode() + "\n")
    else:
        sys.stdout.write(render(audit))
    code = 0
    try:
        err.print(f"report written to {write_report(settings.reports_dir, audit)}")
    except OutputUnwritable as exc:
        err.print(f"[red]report not written:[/red] {exc}")
        code = EXIT_UNWRITABLE
    if not args.no_publish:
        _hand_over(settings, audit)
    return code


def _audit(settings: Settings, day: str | None) -> DailyAuditCompleted:
    risk, now = settings.risk, time.time()
    day = day or today(now, risk.utc_offset_s)
    return build_audit(settings.journal_path, day, zone=risk.timezone,
                       utc_offset_s=risk.utc_offset_s, now=now,
                       extra=_archived(settings, day))


def _archived(settings: Settings, day: str) -> list[JournalRow]:
    """The day's rows from the archive, for a day retention has already moved there."""
    folder = _archive_dir(settings)
    if not folder.exists():
        return []
    start, end = day_bounds(day, settings.risk.utc_offset_s)
    return [row for path in sorted(folder.glob(f"journal-{day}-*.jsonl.gz"))
            for row in read_archive(path) if start <= row.ts < end and row.kind in AUDIT_KINDS]


def _archive_dir(settings: Settings) -> Path:
    return settings.resolve(settings.audit.archive_dir or str(settings.data_dir / "archive"))


def _hand_over(settings: Settings, audit: DailyAuditCompleted) -> None:
    if not kernel_running(settings.data_dir):
        err.print("kernel not running: the audit was computed read-only, not stored")
        return
    seq, failure = record_via_kernel(settings, audit, source=REPORT_SOURCE)
    if failure:
        err.print(f"[yellow]the running kernel did not journal the audit[/yellow] ({failure}): "
                  "printed and written only")
    else:
        err.print(f"handed to the running kernel: journaled as #{seq} and published on "
                  "audit.daily")


def _meta_task(args: argparse.Namespace, settings: Settings) -> int:
    # The same default as ``meta run`` and the scheduler: a finished day, not a partial one.
    audit = _audit(settings, args.day or previous_day(time.time(), settings.risk.utc_offset_s))
    cfg, now = settings.audit, time.time()
    start, end = day_bounds(audit.day, settings.risk.utc_offset_s)
    rows = excerpt(settings.journal_path, start, end, topics=EXCERPT_TOPICS[args.kind],
                   limit=cfg.excerpt_rows)
    quoted = [ExcerptRow(r.seq, r.ts, r.severity, r.topic, r.source, _summary(r)) for r in rows]
    meta = settings.paths.meta_agent
    name = make_task_id(args.kind, audit.day, now, secrets.token_hex(3))
    header = TaskHeader(task_id=name, kind=args.kind, created=now,
                        deadline=now + cfg.task_deadline_h * 3600,
                        answer=str(settings.resolve(meta.outbox) / f"{name}.md"))
    text = render_task(header, audit, quoted, excerpt_limit=cfg.excerpt_rows)
    try:
        path = write_text(settings.resolve(meta.inbox) / f"{name}.md", text,
                          what="Meta-Agent task")
    except OutputUnwritable as exc:
        err.print(f"[red]task not written:[/red] {exc}")
        return EXIT_UNWRITABLE
    Console(highlight=False, soft_wrap=True).print(f"task {name} written to {path}")
    return 0


def _summary(row: JournalRow) -> str:
    try:
        return summarize(msgspec.msgpack.decode(row.payload))
    except msgspec.DecodeError:
        return f"({len(row.payload)} bytes that are not msgpack)"
