"""``kernel meta run JOB`` and ``kernel proposals ...``: the Meta-Agent from a shell.

``meta run`` runs one job in this process, exactly as the scheduler would
(:func:`agents.meta.pipeline.run_job`), and prints where the task and the
report are and what proposals came of it. Without ``--now`` it refuses to start
while the market is on (inside trading hours with the bot trading), the rule
the scheduler keeps; ``--now`` is the person saying they know. Every step is
journaled (:mod:`kernel.console._meta_record`), with or without a running kernel.

Exit codes beyond those of ``kernel``: 8 the job failed (timeout, non-zero
exit, no or bad report, no task), 9 not run because the market is on (add
``--now``), 10 a proposal decision was refused (no such proposal, already
decided, a risk change that does not validate, or the decision could not be
journaled).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from agents.meta.config import JOB_NAMES
from agents.meta.pipeline import JobResult, RunRequest, run_job
from agents.meta.schedule import Activity, next_off_market, observe, off_market, period_key
from agents.moderator.llm_budget import TokenBudget
from agents.moderator.llm_client import LlmClient
from agents.moderator.messages import LlmBudgetReported
from bus import loops
from kernel.console._meta_record import JournalHandOff
from kernel.console.commands.proposals import add_proposal_commands
from kernel.journal_file import connect_readonly, topic_is
from kernel.lockfile import kernel_running
from kernel.messages import decode_message
from kernel.settings import Settings
from kernel.untrusted import ident, one_line, quoted

EXIT_JOB_FAILED, EXIT_MARKET_OPEN = 8, 9
_STATE_TOPICS = ("kernel.mode", "risk.state", "risk.halt", "moderator.pause", "bot.state")

err = Console(stderr=True, highlight=False)
SettingsOf = Callable[[argparse.Namespace], Settings]


def add_meta_commands(sub: Any, meta_sub: Any, settings_of: SettingsOf) -> None:
    """Register ``meta run`` (beside the auditor's ``meta task``) and ``proposals``."""
    run = meta_sub.add_parser("run", help="run a Meta-Agent job now and collect its report")
    run.add_argument("job", choices=JOB_NAMES)
    run.add_argument("--now", action="store_true",
                     help="run even inside trading hours while the bot trades")
    run.add_argument("--day", type=_day, help="daily jobs: the day to analyse, YYYY-MM-DD "
                     "(default: the last complete day)")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.set_defaults(handler=lambda args: meta_run(args, settings_of(args)))
    add_proposal_commands(sub, settings_of)


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def meta_run(args: argparse.Namespace, settings: Settings) -> int:
    now, cfg, offset = time.time(), settings.meta, settings.risk.utc_offset_s
    if not args.now:
        off, why = off_market(now, utc_offset_s=offset, config=cfg,
                              activity=current_activity(settings))
        if not off:
            when = next_off_market(now, offset, cfg.trading_hours)
            at = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M UTC") if when \
                else "not within a week"
            err.print(Text.assemble(("not run:", "yellow"), " ", one_line(
                f"{why}; the market is off from {at}. Add --now to run it anyway.")))
            return EXIT_MARKET_OPEN
    hand_off = JournalHandOff(settings)
    request = RunRequest(args.job, "manual", period_key(cfg.cadence(args.job), now, offset),
                         day=args.day)
    result = loops.run(_run(request, settings, hand_off))
    if args.json:
        body = {"result": msgspec.to_builtins(result.finished),
                "journal": hand_off.failures or "ok"}
        sys.stdout.write(msgspec.json.encode(body).decode() + "\n")
    else:
        _print(result, hand_off, Console(highlight=False))
    return 0 if result.finished.outcome == "ok" else EXIT_JOB_FAILED


async def _run(request: RunRequest, settings: Settings, hand_off: JournalHandOff) -> JobResult:
    from kernel.registry import meta_slice  # late: the composition root pulls every actor

    client = None
    if not settings.paths.meta_agent.command:
        config = msgspec.structs.replace(settings.llm, max_tokens=settings.meta.llm_max_tokens)
        client = LlmClient.from_env(config, budget=_budget(settings, time.time()),
                                    publish=hand_off.publish, clock=time.time)
    try:
        return await run_job(request, config=meta_slice(settings), publish=hand_off.publish,
                             clock=time.time, client=client)
    finally:
        if client is not None:
            await client.close()


def _print(result: JobResult, hand_off: JournalHandOff, out: Console) -> None:
    """The Meta-Agent wrote the details, notes, titles and stderr: each is printed as
    rich ``Text`` on its own line (kernel/untrusted.py)."""
    done = result.finished
    if done.task_path:
        out.print(Text(one_line(f"task {ident(done.task_id, 200)} written to "
                                f"{ident(done.task_path, 500)}")))
    who = {"external": "the configured Meta-Agent", "builtin-llm": "the built-in Meta-Agent "
           "(LLM)", "builtin-offline": "the built-in Meta-Agent (offline rules)",
           "none": "nobody"}[done.agent]
    if done.outcome == "ok":
        out.print(Text(one_line(f"report by {who} at {ident(done.report_path, 500)}: "
                                f"{done.detail}")))
    else:
        out.print(Text.assemble((f"failed ({done.outcome})", "red"),
                                one_line(f" with {who}: {done.detail}")))
        if done.stderr_tail.strip():
            out.print("stderr (last lines):")
            for line in done.stderr_tail.splitlines()[-5:]:
                out.print(Text(one_line(line, 1000)))
    for note in done.notes:
        out.print(Text.assemble(("note:", "yellow"), " ", one_line(note)))
    for proposal in result.proposals:
        out.print(Text(one_line(f"proposal {proposal.id} ({ident(proposal.draft.kind)}) "
                                f"pending: {quoted(proposal.draft.title)}  -> kernel "
                                f"proposals show {proposal.id}")))
    if hand_off.failures:
        for failure in hand_off.failures:
            err.print(Text.assemble(("not journaled:", "red"), " ", one_line(failure)))
    else:
        where = "through the running kernel" if hand_off.via_kernel else "directly"
        out.print(f"journaled {where}")


def current_activity(settings: Settings) -> Activity:
    """The bot's activity as the journal last recorded it; idle when no kernel runs."""
    activity = Activity(mode=settings.kernel.mode)
    if not kernel_running(settings.data_dir):
        return Activity(mode=activity.mode, bot_state="stopped")  # no kernel, no bot
    try:
        with closing(connect_readonly(settings.journal_path)) as db:
            rows = [row for topic in _STATE_TOPICS for row in _newest(db, topic)]
    except (FileNotFoundError, sqlite3.Error):
        return activity
    for _seq, payload in sorted(rows):
        try:
            activity = observe(activity, decode_message(payload))
        except msgspec.DecodeError:
            continue
    return activity


def _budget(settings: Settings, now: float) -> TokenBudget:
    """Today's budget as the journal last recorded it, so a manual run cannot spend it twice."""
    budget = TokenBudget(settings.llm.daily_token_budget)
    try:
        with closing(connect_readonly(settings.journal_path)) as db:
            for _seq, payload in _newest(db, LlmBudgetReported.topic):
                budget.restore(msgspec.msgpack.decode(payload, type=LlmBudgetReported), now)
    except (FileNotFoundError, sqlite3.Error, msgspec.DecodeError):
        pass
    return budget


def _newest(db: sqlite3.Connection, topic: str) -> list[tuple[int, bytes]]:
    terms, params = topic_is(topic)
    row = db.execute(f"SELECT seq, payload FROM journal WHERE {terms} ORDER BY seq DESC "
                     "LIMIT 1", params).fetchone()
    return [] if row is None else [(int(row[0]), bytes(row[1]))]
