"""Completing a plan request: every verdict not given is computed by its built-in analyzer.

Both ``kernel plan`` and the live planner use this, so a request with no
external agent at all still gets a plan, and one with some verdicts gets the
rest made the same documented way (docs/planner.md, "Built-in analyzers").
"""

from __future__ import annotations

import msgspec

from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.macro import analyze_macro
from planner.messages import (
    CrossAssetSnapshot,
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    WildCardVerdict,
)
from planner.parts import Style
from planner.technical import analyze_technical
from planner.wildcard import analyze_wildcard


class Verdicts(msgspec.Struct, frozen=True, kw_only=True):
    """The three verdicts a plan needs, whoever made them."""

    technical: TechnicalVerdict
    macro: MacroVerdict
    wildcard: WildCardVerdict


def complete_verdicts(
    snapshot: MarketSnapshot,
    style: Style,
    now: float,
    config: PlannerConfig,
    *,
    technical: TechnicalVerdict | None = None,
    macro: MacroVerdict | None = None,
    wildcard: WildCardVerdict | None = None,
    cross_asset: CrossAssetSnapshot | None = None,
    calendar: EventCalendar | None = None,
) -> Verdicts:
    """The given verdicts, the missing ones from the built-in analyzers.

    The Technical analysis reads ``snapshot.bars`` and raises
    :class:`~planner.snapshot.AnalysisError` (naming ``bars``) when there are too
    few; the Macro analysis without cross-asset data is NEUTRAL at 0 %.
    """
    if technical is None:
        technical = analyze_technical(snapshot.symbol, snapshot.bars, now, config.technical)
    if macro is None:
        cross = cross_asset if cross_asset is not None else CrossAssetSnapshot(ts=now)
        macro = msgspec.structs.replace(analyze_macro(cross, snapshot.asset_class, config.macro),
                                        asset_class=snapshot.asset_class)
    if wildcard is None:
        wildcard = analyze_wildcard(snapshot, style, calendar, now, config.wildcard)
    return Verdicts(technical=technical, macro=macro, wildcard=wildcard)
