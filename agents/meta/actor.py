"""The Meta-Agent scheduler actor: runs the due jobs off-market, one at a time.

A thin shell over :mod:`agents.meta.schedule` (when) and
:mod:`agents.meta.pipeline` (how). :meth:`MetaRunner.handle` only notes what
the bot is doing (the watchdog's ``bot.state``, the risk engine's trading state,
the moderator's pause, mode changes), so it never waits. :meth:`MetaRunner.run`
looks at the schedule every ``tick_s`` and, off-market only, runs the due jobs
in turn, checking again between two jobs: a job already started runs to its end
or its timeout, but no new one starts once the bot trades again.

Harmless by default: nothing runs within ``start_delay_s`` of the kernel's start,
jobs only start off-market, a Meta-Agent is an external process bounded by a
timeout and never touches the bot or the limits, and ``enabled: false`` in
meta.yaml stops the scheduling altogether. After a restart the history of
scheduled runs is read back from the journal (``meta.job`` rows), so a period's
success is not repeated and a failure is retried only once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import msgspec

from agents.meta.messages import MetaJobFinished
from agents.meta.schedule import (
    Activity,
    Attempt,
    Due,
    due_jobs,
    observe,
    off_market,
    window_start,
)
from agents.meta.slice import MetaSlice
from agents.moderator.llm_budget import shared_budget
from agents.moderator.llm_client import LlmClient
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from kernel.events import AnomalyDetected
from kernel.journal_newest import newest_row
from kernel.messages import decode_message

if TYPE_CHECKING:  # imported by _run: a kernel loads the pipeline when a job first runs
    from agents.meta.pipeline import JobResult

log = logging.getLogger("agents.meta")
_finished = msgspec.msgpack.Decoder(MetaJobFinished)
_RESTORED = ("risk.state", "risk.halt", "moderator.pause")


class MetaRunner(Actor):
    name: ClassVar[str] = "meta"
    subscriptions: ClassVar[tuple[str, ...]] = (
        "bot.state", "risk.state", "risk.halt", "moderator.pause", "kernel.mode")

    def __init__(self, *, config: MetaSlice) -> None:
        super().__init__()
        self._config = config
        self._cfg = config.meta
        self.activity = Activity()
        self.history: list[Attempt] = []
        self._window: float | None = None
        self._started = 0.0
        self._client: LlmClient | None = None

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        self.activity = await self._restore_activity(Activity(mode=self._config.mode))
        self._started = ctx.clock()
        self.history = await self._load_history()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def handle(self, message: Message) -> Sequence[Message]:
        self.activity = observe(self.activity, message)
        return ()

    async def run(self) -> None:
        cfg = self._cfg
        if not cfg.enabled:
            log.info("Meta-Agent jobs are not scheduled (meta.yaml enabled: false)")
            return
        while True:
            await asyncio.sleep(cfg.tick_s)
            await self.tick()

    async def tick(self) -> list[JobResult]:
        """One look at the schedule: run what is due while the market stays off."""
        results: list[JobResult] = []
        if self.ctx.clock() < self._started + self._cfg.start_delay_s:
            return results
        while self._off_market():
            due = due_jobs(self.ctx.clock(), utc_offset_s=self._config.utc_offset_s,
                           config=self._cfg, window=self._window or 0.0,
                           history=self.history)
            if not due:
                break
            result = await self._run(due[0])
            if result is not None:
                results.append(result)
        return results

    def _off_market(self) -> bool:
        now = self.ctx.clock()
        off, _why = off_market(now, utc_offset_s=self._config.utc_offset_s,
                               config=self._cfg, activity=self.activity)
        self._window = window_start(self._window, now, off)
        return off

    async def _run(self, due: Due) -> JobResult | None:
        ctx, window = self.ctx, self._window or 0.0
        log.info("Meta-Agent job %s (%s, attempt %d) starts", due.job, due.key, due.attempt)
        try:  # the pipeline's import too: a failing one is a failed attempt, not a crash
            from agents.meta.pipeline import RunRequest, run_job  # here: see the import above

            request = RunRequest(due.job, "schedule", due.key, due.attempt, window)
            result = await run_job(request, config=self._config, publish=ctx.publish,
                                   clock=ctx.clock, client=await self._llm())
        except Exception as exc:
            # A developer tool's bug must not crash the actor: repeated crashes would make
            # the kernel give up and halt trading. Counted as a failed attempt, so the
            # retry rule still bounds it.
            log.exception("Meta-Agent job %s failed unexpectedly", due.job)
            self.history.append(Attempt(due.job, due.key, window, False))
            ctx.publish(AnomalyDetected(kind="meta_job_failed", severity="error",
                                        ts=ctx.clock(), source=self.name,
                                        detail=f"{due.job}: unexpected error: {exc!r}"[:4096]))
            return None
        ok = result.finished.outcome == "ok"
        self.history.append(Attempt(due.job, due.key, window, ok))
        log.info("Meta-Agent job %s: %s (%s)", due.job, result.finished.outcome,
                 result.finished.detail)
        return result

    async def _llm(self) -> LlmClient | None:
        """The built-in Meta-Agent's client, made on first use (none with a command)."""
        ctx, llm = self.ctx, self._config.llm
        if self._config.agent_command:
            return None
        if self._client is None:
            budget = await shared_budget(ctx.journal, llm.daily_token_budget, ctx.clock())
            config = msgspec.structs.replace(llm, max_tokens=self._cfg.llm_max_tokens)
            self._client = LlmClient.from_env(config, budget=budget, publish=ctx.publish,
                                              clock=ctx.clock)
        return self._client

    async def _restore_activity(self, activity: Activity) -> Activity:
        """A halt or a pause published before this actor subscribed still counts.

        The bot's own state is not restored: after a restart the watchdog reports it
        within seconds, long before ``start_delay_s`` ends.
        """
        rows = [row for topic in _RESTORED if (row := await newest_row(self.ctx.journal, topic))]
        for row in sorted(rows, key=lambda r: r.seq):
            try:
                activity = observe(activity, decode_message(row.payload))
            except msgspec.DecodeError:
                continue
        return activity

    async def _load_history(self) -> list[Attempt]:
        """Scheduled runs already finished, from the journal (oldest first)."""
        found: list[Attempt] = []
        after = 0
        while rows := await self.ctx.journal.read(after_seq=after, limit=1000,
                                                  topic_prefix="meta.job"):
            after = rows[-1].seq
            for row in rows:
                if row.kind != "meta_job_finished":
                    continue
                try:
                    done = _finished.decode(row.payload)
                except msgspec.DecodeError:
                    continue
                if done.trigger == "schedule":
                    found.append(Attempt(done.job, done.key, done.window_start,
                                         done.outcome == "ok"))
        return found
