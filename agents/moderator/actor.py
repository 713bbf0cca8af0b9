"""The risk moderator actor: an intelligent duty officer that can only advise.

A thin shell. :meth:`Moderator.handle` only feeds the book (fills, risk state,
regime, bot state, anomalies) and notes triggers, so it never waits. The
moderations run in :meth:`Moderator.run`, its own task: every ``interval_s``, at
once on a trigger (a halt, the daily loss past a share of its limit, a loss
streak; at most one per ``min_gap_s``), and on ``kernel moderator ask``. The LLM
call is an awaited HTTP request on the SDK's async client, so the order gate on
the same loop keeps answering while the moderator waits.

Each moderation: build the summary, ask the LLM (or, without a key, past the
budget, or on any API failure, the offline rules, labelled as such with the
reason), judge the answer by the trust rules, then apply what they permit. A
refused LLM answer is journaled and the offline rules answer instead, so a
misled adviser can never leave the book without its rule-based duty officer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Sequence
from typing import ClassVar

import msgspec

from agents.moderator._book import ModeratorBook
from agents.moderator._effects import Effects
from agents.moderator._prompt import SYSTEM, TOOL, user_prompt
from agents.moderator._replay import replay_today
from agents.moderator.llm_budget import shared_budget
from agents.moderator.llm_client import LlmClient, LlmFailure
from agents.moderator.llm_config import Triggers
from agents.moderator.messages import (
    AdviceApplied,
    AdviceRefused,
    ModeratorAdviceGiven,
)
from agents.moderator.parts import ModerationSummary, ModeratorAnswer, Source
from agents.moderator.rules import Permitted, Refusal, build_summary, judge, offline_advice
from agents.moderator.slice import ModeratorSlice
from agents.watchdog.messages import BotStateReported
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from kernel.events import ModerationRequested
from kernel.journal_newest import newest_row
from planner.messages import MacroVerdict
from risk.days import day_of
from risk.messages import RiskStateSnapshot

log = logging.getLogger("agents.moderator.actor")


class Moderator(Actor):
    name: ClassVar[str] = "moderator"
    subscriptions: ClassVar[tuple[str, ...]] = (
        "order.fill", "risk.state", "risk.halt", "risk.multiplier", "verdict.macro",
        "bot.state", "kernel.mode", "anomaly", "moderator.request")
    kept_topics: ClassVar[tuple[str, ...]] = ("moderator.request",)  # an operator waits on it

    def __init__(self, *, config: ModeratorSlice) -> None:
        super().__init__()
        self._config = config
        self._cfg = config.moderator
        self._asks: list[tuple[str, str]] = []
        """Explicit requests: (request_id, reason), one moderation each."""
        self._triggers: list[str] = []
        self._wake = asyncio.Event()
        self._last_trigger_at = -math.inf
        self._bot_pid: int | None = None

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        llm = self._config.llm
        self.book = ModeratorBook(mode=self._config.mode, keep_trades=self._cfg.last_trades)
        budget = await shared_budget(ctx.journal, llm.daily_token_budget, ctx.clock())
        self.client = LlmClient.from_env(llm, budget=budget, publish=ctx.publish,
                                         clock=ctx.clock)
        self.effects = Effects(ctx)
        await self.effects.restore()
        await self._prime()
        self.client.report_budget()
        reason = self.client.offline_reason()
        log.info("moderator ready: %s", f"offline ({reason})" if reason
                 else f"LLM {llm.model}")

    async def _prime(self) -> None:
        """Start from the newest risk state, bot state and regime in the journal: they were
        published before this actor subscribed (or before it restarted)."""
        quiet = Triggers(on_halt=False, daily_loss_fraction=0, loss_streak=0)
        for kind in (RiskStateSnapshot, BotStateReported, MacroVerdict):
            row = await newest_row(self.ctx.journal, kind.topic)
            if row is None:
                continue
            try:
                message = msgspec.msgpack.decode(row.payload, type=kind)
            except msgspec.DecodeError:
                continue
            self.book.update(message, row.ts, quiet)
            if isinstance(message, BotStateReported):
                self._bot_pid = message.pid

    async def stop(self) -> None:
        if self._ctx is not None and hasattr(self, "client"):
            await self.client.close()

    async def handle(self, message: Message) -> Sequence[Message]:
        now = self.ctx.clock()
        if isinstance(message, ModerationRequested):
            self._asks.append((message.request_id, f"asked by {message.requested_by}: "
                                                   f"{message.reason}"))
            self._wake.set()
            return ()
        if isinstance(message, BotStateReported) and message.state == "running" \
                and message.pid != self._bot_pid:
            self._bot_pid = message.pid
            self.effects.resend_pause()
        fired = self.book.update(message, now, self._cfg.triggers)
        if fired:
            self._triggers += fired
            self._wake.set()
        return ()

    async def run(self) -> None:
        """The moderations, one at a time, in this task (never in :meth:`handle`)."""
        loop = asyncio.get_running_loop()
        interval = self._cfg.interval_s
        next_periodic = loop.time() + interval if interval > 0 else math.inf
        while True:
            wake_at = min(next_periodic, self._trigger_due(loop.time()), self._pause_due(loop))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(wake_at if math.isfinite(wake_at) else None):
                    await self._wake.wait()
            self._wake.clear()
            now = loop.time()
            if self.effects.pause_until and self.ctx.clock() >= self.effects.pause_until:
                await self.effects.end_pause("its time ran out")
            while self._asks:
                request_id, reason = self._asks.pop(0)
                await self.moderate(reason, request_id)
            if self._triggers and self._trigger_due(now) <= now:
                fired, self._triggers = "; ".join(dict.fromkeys(self._triggers)), []
                self._last_trigger_at = now
                await self.moderate(fired)
            elif now >= next_periodic:
                await self.moderate("periodic")
            if now >= next_periodic:
                next_periodic = now + interval

    def _trigger_due(self, now: float) -> float:
        if not self._triggers:
            return math.inf
        return max(now, self._last_trigger_at + self._cfg.min_gap_s)

    def _pause_due(self, loop: asyncio.AbstractEventLoop) -> float:
        if not self.effects.pause_until:
            return math.inf
        return loop.time() + max(0.0, self.effects.pause_until - self.ctx.clock())

    # --- one moderation ---------------------------------------------------------------

    async def moderate(self, trigger: str, request_id: str = "") -> ModeratorAdviceGiven:
        """Summary, answer, trust rules, effects; every step journaled."""
        ctx, cfg = self.ctx, self._cfg
        request_id = request_id or f"mod-{uuid.uuid4().hex[:12]}"
        floor = max(cfg.bounds.min_multiplier, self._config.min_risk_multiplier)
        summary = build_summary(self.book, ctx.clock(), trigger, cfg, floor)
        advice, keys = await self._advice(summary, request_id)
        ctx.publish(advice)
        verdict = judge(advice.answer, summary, cfg, keys=keys)
        if isinstance(verdict, Refusal) and advice.source == "llm":
            self._refuse(request_id, verdict, "llm")
            advice = self._offline(summary, request_id, advice.prompt_hash,
                                   f"the LLM's answer was refused: {verdict.reason}")
            ctx.publish(advice)
            verdict = judge(advice.answer, summary, cfg)
        if isinstance(verdict, Refusal):
            self._refuse(request_id, verdict, advice.source)
            return advice
        detail = verdict.detail
        if cfg.apply and verdict.effect != "none":
            detail = await self.effects.apply(verdict, request_id=request_id,
                                              source=advice.source, reason=advice.answer.reason)
        ctx.publish(AdviceApplied(request_id=request_id, action=verdict.action,
                                  effect=verdict.effect, detail=detail[:4096], ts=ctx.clock(),
                                  dry_run=not cfg.apply,
                                  evidence=(await self._evidence(verdict))[:4096]))
        return advice

    async def _evidence(self, verdict: Permitted) -> str:
        """Today replayed with the reduced multiplier, after the cut (it must not wait)."""
        folder, value = self._config.config_dir, verdict.risk_multiplier
        if verdict.action != "REDUCE_RISK" or folder is None or value is None:
            return ""
        today = day_of(self.ctx.clock(), self._config.utc_offset_s)
        return await replay_today(folder, day=today, multiplier=value)

    async def _advice(self, summary: ModerationSummary,
                      request_id: str) -> tuple[ModeratorAdviceGiven, list[str]]:
        """The LLM's answer and the keys it sent, or the offline answer and why."""
        reason = self.client.offline_reason()
        if reason:
            self.client.report_budget()
            return self._offline(summary, request_id, "", reason), []
        try:
            reply = await self.client.ask(purpose="moderator", system=SYSTEM,
                                          prompt=user_prompt(summary), answer_type=ModeratorAnswer,
                                          tool=TOOL, request_id=request_id)
        except LlmFailure as exc:
            log.warning("moderator falls back to the offline rules: %s", exc)
            return self._offline(summary, request_id, "", f"{exc.outcome}: {exc.detail}"), []
        return ModeratorAdviceGiven(
            request_id=request_id, trigger=summary.trigger, source="llm", answer=reply.value,
            summary=summary, ts=self.ctx.clock(), prompt_hash=reply.prompt_hash), list(reply.raw)

    def _offline(self, summary: ModerationSummary, request_id: str, prompt_hash: str,
                 why: str) -> ModeratorAdviceGiven:
        answer = offline_advice(summary, self._cfg)
        return ModeratorAdviceGiven(
            request_id=request_id, trigger=summary.trigger, source="offline", answer=answer,
            summary=summary, ts=self.ctx.clock(), fallback_reason=why[:4096],
            prompt_hash=prompt_hash)

    def _refuse(self, request_id: str, refusal: Refusal, source: Source) -> None:
        log.warning("moderator advice refused (%s): %s", source, refusal.reason)
        self.ctx.publish(AdviceRefused(request_id=request_id, action=refusal.action[:64],
                                       reason=refusal.reason[:4096], ts=self.ctx.clock(),
                                       source=source))
