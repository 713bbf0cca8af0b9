"""The planner actor: current verdicts and snapshots in, trade plans out on ``plan.trade``.

It follows the symbols in ``live.symbols`` (all with market data when empty).
Inputs that change together (a bar makes a snapshot and up to three verdicts)
are coalesced: the first change of a symbol starts a ``live.debounce_s`` timer,
and when it fires every changed symbol is planned once. With a debounce of 0
the plans are returned from :meth:`handle` at once (handy in tests).

It is also the kernel's planner service: the gateway calls :meth:`plan` for a
bot's ``plan_request``, synchronously, and sends the plan back on the link.
That path stays deterministic.

LLM mode (``llm.yaml``: ``enabled`` and ``planner.enabled``, with
``ANTHROPIC_API_KEY`` set): each TRADE plan that :meth:`run` publishes goes
through :func:`agents.planner.refine.refine_plan` first, awaited in that task (never
in :meth:`handle`), bounded by the client's ``deadline_s``; any failure publishes
the deterministic plan with the reason in ``warnings``. Plans returned straight
from :meth:`handle` (a debounce of 0) are not refined.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Sequence
from typing import ClassVar

import msgspec

from agents.moderator.llm_budget import shared_budget
from agents.moderator.llm_client import KEY_ENV, LlmClient
from agents.planner._verdict_book import SYMBOLS_MAX, PlanAsk, VerdictBook
from agents.planner.llm import PlanInputs, fallback
from agents.planner.refine import refine_plan
from agents.planner.slice import PlannerSlice
from bus.protocol import Message, PlanRequest
from kernel.actor import Actor, ActorContext
from kernel.bounded import BoundedDict
from kernel.events import AnomalyDetected
from kernel.plan_service import PlanUnavailable
from planner.messages import TradePlan

log = logging.getLogger("agents.planner")


class PlannerActor(Actor):
    name: ClassVar[str] = "planner"
    subscriptions: ClassVar[tuple[str, ...]] = ("verdict.current", "market.snapshot",
                                                "bot.heartbeat")

    def __init__(self, *, config: PlannerSlice) -> None:
        super().__init__()
        self._config = config
        self.book = VerdictBook()
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._told: BoundedDict[str, str] = BoundedDict(SYMBOLS_MAX)
        """Per symbol, the last reason it could not be planned (said once, not per bar)."""
        self.llm: LlmClient | None = None
        """The one LLM client, in LLM mode only (see the module docstring)."""

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        llm = self._config.llm
        if llm.enabled and llm.planner.enabled and os.environ.get(KEY_ENV):
            budget = await shared_budget(ctx.journal, llm.daily_token_budget, ctx.clock())
            self.llm = LlmClient.from_env(llm, budget=budget, publish=ctx.publish,
                                          clock=ctx.clock)
            log.info("planner LLM mode on: %s", llm.model)
        ctx.services.set_planner(self)

    async def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.services.set_planner(None)
        if self.llm is not None:
            await self.llm.close()

    async def handle(self, message: Message) -> Sequence[Message]:
        changed = self._followed(self.book.update(message))
        if not changed:
            return ()
        self._dirty |= changed
        if self._config.planner.live.debounce_s <= 0:
            return self.plans_due()
        self._wake.set()
        return ()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._config.planner.live.debounce_s)
            self._wake.clear()
            for message, inputs in self._due():
                if self.llm is not None and inputs is not None and isinstance(message, TradePlan):
                    message = await self._refined(self.llm, message, inputs)
                self.ctx.publish(message)

    async def _refined(self, client: LlmClient, plan: TradePlan,
                       inputs: PlanInputs) -> TradePlan:
        if plan.decision != "TRADE":
            return plan
        try:
            return await refine_plan(client, plan, inputs, self._config.llm.planner,
                                     request_id=f"plan-{uuid.uuid4().hex[:12]}")
        except Exception as exc:  # the live loop must keep planning whatever went wrong
            log.exception("planner LLM refinement failed for %s", plan.symbol)
            return fallback(plan, inputs, f"refinement error: {type(exc).__name__}: {exc}")

    def plans_due(self) -> list[Message]:
        """Plan every symbol changed since the last call; anomalies for those that cannot be."""
        return [message for message, _ in self._due()]

    def _due(self) -> list[tuple[Message, PlanInputs | None]]:
        """:meth:`plans_due`, each plan with the inputs it was built from."""
        now = self.ctx.clock()
        out: list[tuple[Message, PlanInputs | None]] = []
        config = self._config
        for symbol in sorted(self._dirty):
            try:
                out.append(self.book.plan_with_inputs(symbol, now, config.planner,
                                                      config.events, PlanAsk()))
                self._told.pop(symbol, None)
            except PlanUnavailable as exc:
                if self._told.get(symbol) != exc.code:
                    self._told[symbol] = exc.code
                    out.append((AnomalyDetected(kind="plan_unavailable", severity="info", ts=now,
                                                source=self.name, detail=exc.reason), None))
        self._dirty.clear()
        return out

    def plan(self, request: PlanRequest, now: float) -> TradePlan:
        """The planner service for the bot link: a plan that answers ``request``."""
        ask = PlanAsk(style=request.style, account_size=request.account_size,
                      risk_pct=request.risk_pct)
        plan = self._plan(request.symbol, now, ask)
        return msgspec.structs.replace(plan, request_id=request.request_id)

    def _plan(self, symbol: str, now: float, ask: PlanAsk) -> TradePlan:
        config = self._config
        return self.book.plan(symbol, now, config.planner, config.events, ask)

    def _followed(self, symbols: set[str]) -> set[str]:
        wanted = self._config.planner.live.symbols
        if not wanted:
            return symbols
        upper = {s.upper() for s in wanted}
        return {s for s in symbols if s.upper() in upper}
