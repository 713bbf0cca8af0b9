"""What the three verdict adapters share: external verdicts in, the current verdict out.

Each adapter keeps, per key (a symbol, or an asset class for Macro), the latest
external verdict and the latest built-in one, and publishes the one the planner
should use on ``verdict.current.<agent>`` whenever it changes. External agents
publish on ``verdict.<agent>``; keeping the two topics apart means an adapter
never hears its own output, and the journal shows both what an agent said and
what the planner used. A sweep every second notices external verdicts that
aged out, so the built-in one takes over without waiting for new market data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar, Generic

from agents.verdicts._selection import (
    Kind,
    V,
    as_external,
    choose,
    decode_problem,
    external_problem,
    invalid_verdict,
    is_fresh,
    same_content,
)
from agents.verdicts.slice import VerdictSlice
from bus.protocol import Message
from kernel.actor import Actor
from kernel.bounded import BoundedDict
from kernel.events import AnomalyDetected
from planner.config import PlannerConfig
from planner.live import LiveConfig

SWEEP_INTERVAL_S = 1.0


KEYS_MAX = 1024
"""Symbols (or asset classes) a verdict is kept for: a bot's frames name any symbol
they like, so the least recently written is dropped beyond this many."""

class VerdictAdapter(Actor, Generic[V]):
    """Base of the adapters; subclasses feed :meth:`offer_external` and :meth:`set_builtin`."""

    kind: ClassVar[Kind]

    def __init__(self, *, config: VerdictSlice) -> None:
        super().__init__()
        self._planner = config.planner
        self._external: BoundedDict[str, V] = BoundedDict(KEYS_MAX)
        self._builtin: BoundedDict[str, V] = BoundedDict(KEYS_MAX)
        self._published: BoundedDict[str, V] = BoundedDict(KEYS_MAX)

    @property
    def planner(self) -> PlannerConfig:
        """``config/planner.yaml``: the analyses' settings."""
        return self._planner

    @property
    def live(self) -> LiveConfig:
        return self._planner.live

    @property
    def current_topic(self) -> str:
        return f"verdict.current.{self.kind}"

    def now(self) -> float:
        return self.ctx.clock()

    def current(self, key: str) -> V | None:
        """The verdict last published for ``key`` (what the planner now uses)."""
        return self._published.get(key)

    def offer_external(self, verdict: V, key: str) -> list[Message]:
        """Validate an external verdict; keep it, or return the anomaly that refuses it."""
        now = self.now()
        problem = external_problem(verdict, self.kind, now, self.live)
        if problem is not None:
            return [invalid_verdict(self.kind, problem, source=self.name, now=now)]
        if not is_fresh(verdict, self.kind, now, self.live):
            age = now - verdict.ts
            return [AnomalyDetected(
                kind="stale_verdict", severity="info", ts=now, source=self.name,
                detail=f"{self.kind} verdict for {key} ignored: {age:.0f} s old, more than "
                       f"the {self.live.external_max_age_s.of(self.kind):g} s it may count")]
        self._external[key] = as_external(verdict)
        for target in self.keys_for(key):
            self.refresh(target)
        return []

    def set_builtin(self, key: str, verdict: V) -> None:
        self._builtin[key] = verdict
        self.refresh(key)

    def external_for(self, key: str) -> V | None:
        """Hook: the external verdict that may apply to ``key``."""
        return self._external.get(key)

    def keys_for(self, key: str) -> list[str]:
        """Hook: the keys an external verdict stored under ``key`` applies to."""
        return [key]

    def label(self, key: str, verdict: V) -> V:
        """Hook: what the published verdict must say about its key (Macro: the asset class)."""
        return verdict

    def refresh(self, key: str) -> None:
        """Publish the chosen verdict for ``key`` if it differs from the last one published."""
        chosen = choose(self.external_for(key), self._builtin.get(key), self.kind,
                        self.now(), self.live)
        if chosen is None:
            return
        chosen = self.label(key, chosen)
        if same_content(chosen, self._published.get(key)):
            return
        self._published[key] = chosen
        self.ctx.publish(chosen, topic=self.current_topic)

    def sweep(self) -> None:
        """Drop external verdicts that aged out and fall back to the built-in ones."""
        now = self.now()
        for key, verdict in list(self._external.items()):
            if not is_fresh(verdict, self.kind, now, self.live):
                del self._external[key]
                for target in self.keys_for(key):
                    self.refresh(target)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            self.sweep()

    async def rejected(self, topic: str, source: str, error: str) -> Sequence[Message]:
        if topic != f"verdict.{self.kind}":
            return ()
        detail = f"{decode_problem(error, self.kind)} (published by {source})"
        return [invalid_verdict(self.kind, detail, source=self.name, now=self.now())]
