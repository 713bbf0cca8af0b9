"""The confidence pipeline: one function that the point and both ends of its range go through.

The conflict table gives a base and a base range; the VWAP bias, the Wild Card's
worst risk and the SHORT checks take points off and cap, in that order, and the
plan's cap closes. Because the steps only subtract, clamp and cap, they never
reorder two values: pushing the base range's ends through the same steps as the
point gives a range that holds the point and obeys every cap and penalty the
point obeys (a SHORT capped at 80 % cannot carry a range up to 94 %).

There is no minimum confidence to trade: the seed trades any directional opinion
and lets low confidence shrink the size. A TRADE's confidence is at least 1 %,
because a plan with no chance of working would not be a plan.
"""

from __future__ import annotations

import msgspec

from planner.confidence import against_vwap, base_range, spread, wildcard_risk
from planner.config import PlannerConfig
from planner.messages import MacroVerdict, TechnicalVerdict
from planner.parts import Direction, MarketStatus, Range, Severity, TradeDirection
from planner.short_safety import ShortCheck, check_short
from planner.synthesis import Resolution

MIN_TRADE_CONFIDENCE = 1.0


class Weighed(msgspec.Struct, frozen=True, kw_only=True):
    confidence: float
    range: Range
    warnings: tuple[str, ...]
    short: ShortCheck


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """What the adjustments read, besides the value being adjusted."""

    direction: TradeDirection
    technical: TechnicalVerdict
    macro: MacroVerdict
    wildcard_risk: Severity
    vwap_bias: Direction
    market_status: MarketStatus


def _adjust(
    value: float, ctx: Context, config: PlannerConfig
) -> tuple[float, list[str], ShortCheck]:
    """One value through every step, with the warnings those steps gave."""
    cfg = config.synthesis
    vwap = against_vwap(value, ctx.direction, ctx.vwap_bias, cfg)
    wild = wildcard_risk(vwap.confidence, ctx.wildcard_risk, cfg)
    short = check_short(ctx.direction, wild.confidence, ctx.technical, ctx.macro,
                        config.short_safety)
    final = max(MIN_TRADE_CONFIDENCE, float(round(min(short.confidence, cfg.confidence_cap))))
    return final, [*vwap.warnings, *wild.warnings, *short.warnings], short


def weigh(resolution: Resolution, ctx: Context, config: PlannerConfig) -> Weighed:
    """The point, its range, and the warnings of the point's own pass."""
    point, warnings, short = _adjust(resolution.confidence, ctx, config)
    half = spread(ctx.technical.confidence, ctx.macro.confidence)
    low, high = base_range(resolution.confidence, half, resolution.ceiling)
    if ctx.market_status == "extended":
        warnings.append("Extended-hours session: thinner liquidity and wider spreads")
    ends = Range(low=_adjust(low, ctx, config)[0], high=_adjust(high, ctx, config)[0])
    return Weighed(confidence=point, range=ends, warnings=tuple(warnings), short=short)
