"""Anti-chase guard: layer 2 of the seed's three (prompt → guard → review).

Buying within a tenth of an ATR of the high of day, or shorting that close to
the low, is chasing: the move has happened and the risk is all on one side. It
is allowed only after a pullback, which the seed defines as at least two bars of
the opposite colour (red bars for a LONG, green bars for a SHORT). Here they are
counted among the last ``lookback_bars`` bars; a doji counts for neither side.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.config import ChaseConfig
from planner.parts import Bar, ChaseCheck, ChaseStatus, Range, TradeDirection
from planner.prices import fmt_price, fmt_range


def chase_zones(hod: float, lod: float, atr: float, cfg: ChaseConfig) -> tuple[Range, Range]:
    """(LONG zone under the HOD, SHORT zone over the LOD), each ``zone_atr_pct`` of ATR."""
    depth = cfg.zone_atr_pct / 100 * atr
    return Range(low=hod - depth, high=hod), Range(low=lod, high=lod + depth)


def opposite_bars(bars: Sequence[Bar], direction: TradeDirection, lookback: int) -> int:
    """Red bars (close below open) for a LONG, green ones for a SHORT, in the last bars."""
    recent = bars[-lookback:] if lookback > 0 else []
    if direction == "LONG":
        return sum(1 for bar in recent if bar.close < bar.open)
    return sum(1 for bar in recent if bar.close > bar.open)


def check_chase(
    direction: TradeDirection,
    *,
    price: float,
    hod: float,
    lod: float,
    atr: float,
    bars: Sequence[Bar],
    cfg: ChaseConfig,
) -> ChaseCheck:
    """CLEAR outside the zone; in it, PULLBACK_OK with enough opposite bars, else BLOCK."""
    hod, lod = max(hod, price), min(lod, price)  # a snapshot's HOD/LOD may lag the last tick
    long_zone, short_zone = chase_zones(hod, lod, atr, cfg)
    zone = long_zone if direction == "LONG" else short_zone
    in_zone = price >= long_zone.low if direction == "LONG" else price <= short_zone.high
    count = opposite_bars(bars, direction, cfg.lookback_bars)
    status: ChaseStatus = "CLEAR"
    if in_zone:
        status = "PULLBACK_OK" if count >= cfg.pullback_bars else "BLOCK"
    return ChaseCheck(
        status=status, direction=direction, in_zone=in_zone, long_zone=long_zone,
        short_zone=short_zone, distance_to_hod=hod - price, distance_to_lod=price - lod,
        opposite_bars=count, reason=_reason(direction, status, price, zone, count, cfg),
    )


def _reason(
    direction: TradeDirection, status: ChaseStatus, price: float, zone: Range, count: int,
    cfg: ChaseConfig,
) -> str:
    extreme = "HOD" if direction == "LONG" else "LOD"
    colour = "red" if direction == "LONG" else "green"
    where = f"price {fmt_price(price)}"
    if status == "CLEAR":
        return f"{where} is outside the {direction} chase zone {fmt_range(zone.low, zone.high)}"
    pullback = (f"{count} {colour} bar(s) in the last {cfg.lookback_bars} "
                f"(needs {cfg.pullback_bars})")
    if status == "PULLBACK_OK":
        return f"{where} is in the chase zone near the {extreme}, but after a pullback: {pullback}"
    return (f"BLOCK: {direction} would chase — {where} is within {cfg.zone_atr_pct:g}% of ATR of "
            f"the {extreme} (chase zone {fmt_range(zone.low, zone.high)}) with no pullback: "
            f"{pullback}")
