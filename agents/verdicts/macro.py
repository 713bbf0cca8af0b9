"""The Macro verdict adapter: the current Macro verdict for each asset class being traded.

Macro differs by asset class (crypto weighs BTC and funding, stocks the index
and the VIX), so the verdict is kept per asset class seen on
``market.snapshot``. The built-in analysis reads the latest cross-asset
snapshot (``market.cross_asset``) while it is younger than
``live.cross_asset_max_age_s`` and not marked ``stale`` by its publisher, and
otherwise has no data (NEUTRAL at 0 %). An
external verdict on ``verdict.macro`` names its ``asset_class``, or none to
apply to all; a specific one beats a general one, and either beats the
built-in one while fresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from agents.verdicts._adapter import VerdictAdapter
from agents.verdicts._selection import Kind, is_fresh
from agents.verdicts.slice import VerdictSlice
from bus.protocol import Message
from kernel.events import AnomalyDetected
from planner.macro import analyze_macro
from planner.messages import CrossAssetSnapshot, MacroVerdict, MarketSnapshot
from planner.parts import AssetClass
from planner.validation import field_problem

ALL = "*"
"""Key of an external verdict that names no asset class."""


class MacroAdapter(VerdictAdapter[MacroVerdict]):
    name: ClassVar[str] = "macro_adapter"
    kind: ClassVar[Kind] = "macro"
    subscriptions: ClassVar[tuple[str, ...]] = ("market.cross_asset", "market.snapshot",
                                                "verdict.macro")

    def __init__(self, *, config: VerdictSlice) -> None:
        super().__init__(config=config)
        self._cross: CrossAssetSnapshot | None = None
        self._classes: set[AssetClass] = set()

    async def handle(self, message: Message) -> Sequence[Message]:
        match message:
            case MarketSnapshot(asset_class=asset_class):
                self._classes.add(asset_class)
                self._analyse(asset_class)
            case CrossAssetSnapshot():
                return self._on_cross_asset(message)
            case MacroVerdict():
                return self.offer_external(message, message.asset_class or ALL)
        return ()

    def _on_cross_asset(self, cross: CrossAssetSnapshot) -> list[Message]:
        problem = field_problem(cross, "cross_asset")
        if problem is not None:
            return [AnomalyDetected(kind="invalid_cross_asset", severity="warning",
                                    ts=self.now(), source=self.name,
                                    detail=f"cross-asset snapshot refused: {problem}")]
        self._cross = cross
        for asset_class in sorted(self._classes):
            self._analyse(asset_class)
        return []

    def _analyse(self, asset_class: AssetClass) -> None:
        now = self.now()
        cross = self._cross
        if (cross is None or cross.stale
                or now - cross.ts > self.live.cross_asset_max_age_s):
            cross = CrossAssetSnapshot(ts=now)
        verdict = analyze_macro(cross, asset_class, self.planner.macro)
        self.set_builtin(asset_class, msgspec.structs.replace(verdict, asset_class=asset_class))

    def external_for(self, key: str) -> MacroVerdict | None:
        specific = self._external.get(key)
        if specific is not None and is_fresh(specific, self.kind, self.now(), self.live):
            return specific
        return self._external.get(ALL, specific)

    def keys_for(self, key: str) -> list[str]:
        return sorted(self._classes) if key == ALL else [key]

    def label(self, key: str, verdict: MacroVerdict) -> MacroVerdict:
        if verdict.asset_class == key:
            return verdict
        return msgspec.structs.replace(verdict, asset_class=key)
