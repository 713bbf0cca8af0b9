"""The auditor actor: anomalies as they happen, and the audit of each trading day.

A thin shell. Every message it hears goes through the pure rules of
:mod:`agents.audit.rules`; each finding is published as an ``anomaly``, and each
round trip the fills close as a ``trade_closed`` (both journaled). A timer
notices the day rollover (local midnight at the risk config's offset, the same
boundary as the daily loss limit) and then:

1. makes the day's audit from the journal (:func:`agents.audit.journal.build_audit`,
   read-only, in a worker thread, after a flush so the day's last rows are in);
2. writes it as Markdown to the reports directory;
3. publishes it on ``audit.daily``, which also stores it in the journal: after the
   file, so whoever reacts to the message (a person, the Meta-Agent) finds the
   report there; a report that could not be written is an anomaly, and the
   audit is published all the same;
4. applies retention (:mod:`agents.audit.retention`).

A failure in any step is an ``anomaly`` of severity ``error`` naming the file
and the reason, never a crash: an audit that cannot be written must not take
trading down with it (the journal's own failures already fail trading closed,
in the gateway). The exception is a damaged journal file: the actor re-raises
it, and the kernel stops (exit 3) naming the file. On start it catches up the
previous day if the kernel was down at midnight but ran that day.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from typing import ClassVar

from agents.audit.config import AuditConfig
from agents.audit.files import OutputUnwritable, write_report
from agents.audit.journal import build_audit, day_bounds, missed_audit
from agents.audit.messages import DailyAuditCompleted
from agents.audit.retention import retain
from agents.audit.rules import AnomalyRules, Finding
from agents.audit.slice import AuditSlice
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from kernel.events import AnomalyDetected, Severity
from kernel.journal import JournalError
from kernel.journal_file import corruption_in
from risk.days import day_of

log = logging.getLogger("agents.audit.actor")


class Auditor(Actor):
    """See the module docstring; ``tick_s`` is how often the day boundary is checked."""

    name: ClassVar[str] = "auditor"
    subscriptions: ClassVar[tuple[str, ...]] = (
        "order.request", "order.decision", "order.fill", "bot.hello", "bot.heartbeat",
        "bot.lifecycle",
        "kernel.actor", "anomaly")
    inbox_frames: ClassVar[int] = 20_000
    """The live rules' inbox: the daily audit is computed from the journal, so frames
    dropped while a flood of orders outpaces these rules cost only their live
    findings (the drop is reported). At the default 200,000 the inbox of a flood held
    about 90 MB that the kernel kept after it had drained."""
    kept_topics: ClassVar[tuple[str, ...]] = ("bot.lifecycle", "kernel.actor")
    """Restarts, for the live ``restart_storm`` rule, however many orders flood in."""

    def __init__(self, *, config: AuditSlice, tick_s: float = 1.0) -> None:
        super().__init__()
        self._config = config
        self._cfg: AuditConfig = config.audit
        self._rules = AnomalyRules(self._cfg)
        self._tick_s = tick_s
        self._day = ""

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        self._day = self._today()

    async def handle(self, message: Message) -> Sequence[Message]:
        now = self.ctx.clock()
        return [AnomalyDetected(kind=seen.kind, severity=seen.severity, ts=now,
                                source=self.name, detail=seen.detail[:4096])
                if isinstance(seen, Finding) else seen
                for seen in self._rules.observe(message, now)]

    async def run(self) -> None:
        yesterday = (date.fromisoformat(self._day) - timedelta(days=1)).isoformat()
        if await self._missed(yesterday):
            await self.close_day(yesterday)
        while True:
            await asyncio.sleep(self._tick_s)
            today = self._today()
            if today != self._day:
                previous, self._day = self._day, today
                await self.close_day(previous)

    async def close_day(self, day: str) -> DailyAuditCompleted | None:
        """Audit ``day``, write the report, then store and publish it; apply retention."""
        audit = await self.audit(day)
        if audit is not None:
            await self.write(audit)
            await self.ctx.publish_durable(audit)
            log.info("audit of %s: %d trades, realised PnL %s USDT, %d orders denied", day,
                     audit.trades.trades, audit.pnl.realized_pnl, audit.orders.denied)
        await self._retain()
        return audit

    async def audit(self, day: str) -> DailyAuditCompleted | None:
        """Make the audit of ``day`` from the journal; None (and an anomaly) on failure."""
        ctx, config = self.ctx, self._config
        try:
            await ctx.journal.flush()
            audit = await asyncio.to_thread(build_audit, ctx.journal.path, day,
                                            zone=config.timezone,
                                            utc_offset_s=config.utc_offset_s, now=ctx.clock())
        except (JournalError, sqlite3.Error, OSError) as exc:
            _raise_if_damaged(exc)
            self._trouble("audit_failed", "error", f"the audit of {day} could not be made "
                          f"from {ctx.journal.path}: {exc}")
            return None
        return audit

    async def write(self, audit: DailyAuditCompleted) -> None:
        try:
            path = await asyncio.to_thread(write_report, self._config.reports_dir, audit)
        except OutputUnwritable as exc:
            self._trouble("report_unwritable", "error", str(exc))
        else:
            log.info("daily report written: %s", path)

    async def _retain(self) -> None:
        days = self._cfg.retention_days
        if days == 0:
            return
        ctx, offset = self.ctx, self._config.utc_offset_s
        cutoff, _ = day_bounds((date.fromisoformat(self._day) - timedelta(days=days)).isoformat(),
                               offset)
        folder = self._config.archive_dir
        try:
            done = await retain(ctx.journal, archive_dir=folder, cutoff_ts=cutoff,
                                utc_offset_s=offset, now=ctx.clock())
        except (JournalError, sqlite3.Error, OSError) as exc:
            _raise_if_damaged(exc)
            self._trouble("retention_failed", "error", f"rows older than {days} days could "
                          f"not be archived to {folder}: {exc}")
            return
        if done is not None:
            log.info("retention: %d rows archived to %s, %d deleted (through seq %d)",
                     done.archived, folder, done.deleted, done.through_seq)

    async def _missed(self, day: str) -> bool:
        """The kernel ran on ``day`` but was down at its end: no audit was made."""
        ctx = self.ctx
        start, end = day_bounds(day, self._config.utc_offset_s)
        try:
            return await asyncio.to_thread(missed_audit, ctx.journal.path, day, start, end)
        except (sqlite3.Error, OSError) as exc:
            _raise_if_damaged(exc)
            log.error("could not check for a missed audit of %s: %s", day, exc)
            return False

    def _today(self) -> str:
        return day_of(self.ctx.clock(), self._config.utc_offset_s)

    def _trouble(self, kind: str, severity: Severity, detail: str) -> None:
        log.error("%s: %s", kind, detail)
        self.ctx.publish(AnomalyDetected(kind=kind, severity=severity, ts=self.ctx.clock(),
                                         source=self.name, detail=detail[:4096]))


def _raise_if_damaged(exc: BaseException) -> None:
    """A damaged journal file is not the audit's trouble alone: crash, so that the
    kernel stops and names the file (an anomaly could not even be journaled)."""
    if corruption_in(exc) is not None:
        raise exc
