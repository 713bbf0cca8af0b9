"""The entry: a zone at support (longs) or resistance (shorts), and what to wait for.

The seed takes the entry zone from the Technical agent's levels and uses VWAP as
dynamic support or resistance, so VWAP joins the candidate levels. A level is
used only within the style's reach (``entry_reach_atr``); beyond it the plan
enters near the market and asks for confirmation instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from planner.config import StyleConfig
from planner.parts import AssetClass, EntryZone, Level, TradeDirection
from planner.prices import ceil_to, floor_to, fmt_price, fmt_range, price_tick
from planner.short_safety import SHORT_MIRROR, normalize_entry_type

_STRATEGY = {
    "buy_support": "buy at support",
    "bounce": "buy the bounce off support",
    "pullback_buy": "buy the pullback into support",
    "breakout": "buy the retest of the broken resistance",
    "breakout_retest": "buy the retest of the broken resistance",
    "short_resistance": "short at resistance",
    "rejection": "short the rejection",
    "rally_short": "short the rally into resistance",
    "lower_high": "short the lower high",
    "breakdown": "short the retest of the broken support",
    "breakdown_retest": "short the retest of the broken support",
    "failed_breakout": "short the failed breakout",
}


class ZonePlan(msgspec.Struct, frozen=True, kw_only=True):
    zone: EntryZone
    anchor: Level | None


def _candidates(
    direction: TradeDirection, price: float, levels: Sequence[Level], vwap: float | None,
    reach: float,
) -> list[Level]:
    pool = list(levels)
    if vwap is not None:
        pool.append(Level(price=vwap, label="VWAP"))
    if direction == "LONG":
        return [lv for lv in pool if price - reach <= lv.price <= price]
    return [lv for lv in pool if price <= lv.price <= price + reach]


def fill_chance(price: float, low: float, high: float, reach: float) -> float:
    """90 % when price is in the zone, falling to 30 % at the edge of the reach."""
    if low <= price <= high:
        return 90.0
    distance = low - price if price < low else price - high
    return max(30.0, 90.0 - 60.0 * distance / reach)


def entry_zone(
    direction: TradeDirection,
    price: float,
    levels: Sequence[Level],
    vwap: float | None,
    atr: float,
    frame: StyleConfig,
    asset_class: AssetClass,
) -> ZonePlan:
    """Zone just above the nearest support (LONG) or just below the nearest resistance."""
    reach, width = frame.entry_reach_atr * atr, frame.entry_width_atr * atr
    tick = price_tick(price, asset_class)
    found = _candidates(direction, price, levels, vwap, reach)
    if direction == "LONG":
        anchor = max(found, key=lambda lv: lv.price) if found else None
        low = anchor.price if anchor else price - width
        low, high = ceil_to(low, tick), floor_to(low + width, tick)
    else:
        anchor = min(found, key=lambda lv: lv.price) if found else None
        high = anchor.price if anchor else price + width
        low, high = ceil_to(high - width, tick), floor_to(high, tick)
    if high <= low:
        high = low + tick
    zone = EntryZone(low=low, high=high, mid=(low + high) / 2,
                     confidence=float(round(fill_chance(price, low, high, reach))))
    return ZonePlan(zone=zone, anchor=anchor)


def shift_below(
    zone: EntryZone, ceiling: float, tick: float, reach: float, price: float
) -> EntryZone:
    """Move a LONG zone under ``ceiling`` (the chase zone) keeping its width."""
    if zone.high < ceiling:
        return zone
    width = zone.high - zone.low
    high = floor_to(ceiling - tick, tick)
    low = high - width
    return EntryZone(low=low, high=high, mid=(low + high) / 2,
                     confidence=float(round(fill_chance(price, low, high, reach))))


def shift_above(
    zone: EntryZone, floor: float, tick: float, reach: float, price: float
) -> EntryZone:
    """Move a SHORT zone over ``floor`` (the chase zone) keeping its width."""
    if zone.low > floor:
        return zone
    width = zone.high - zone.low
    low = ceil_to(floor + tick, tick)
    high = low + width
    return EntryZone(low=low, high=high, mid=(low + high) / 2,
                     confidence=float(round(fill_chance(price, low, high, reach))))


def strategy(direction: TradeDirection, entry_type: str) -> str:
    """The seed's phrasing of the entry strategy for the Technical entry type.

    A SHORT never speaks a LONG word: ``buy_support`` on a SHORT reads as its mirror,
    ``short_resistance`` (the vocabulary row of the SHORT checks says so in a warning).
    """
    word = normalize_entry_type(entry_type)
    if direction == "SHORT":
        word = SHORT_MIRROR.get(word, word)
    phrase = _STRATEGY.get(word)
    long_word = phrase is not None and phrase.startswith("buy")
    if phrase is None or long_word != (direction == "LONG"):
        return "buy at support" if direction == "LONG" else "short the rejection at resistance"
    return phrase


def trigger(direction: TradeDirection, plan: ZonePlan) -> str:
    zone = fmt_range(plan.zone.low, plan.zone.high)
    if plan.anchor is None:
        verb = "Buy" if direction == "LONG" else "Short"
        return f"{verb} near the market in {zone} on confirmation (no level within reach)"
    what = "support" if direction == "LONG" else "resistance"
    verb = "Buy" if direction == "LONG" else "Short"
    name = f" ({plan.anchor.label})" if plan.anchor.label else ""
    return f"{verb} in {zone} at {what} {fmt_price(plan.anchor.price)}{name}"


def waiting(direction: TradeDirection, plan: ZonePlan, price: float) -> list[str]:
    """Explicit instructions: what price action to wait for before entering."""
    zone = plan.zone
    where = fmt_range(zone.low, zone.high)
    if plan.anchor is None:
        bar = "a bar closing above the prior bar's high" if direction == "LONG" else \
            "a bar closing below the prior bar's low"
        return [f"No level within reach: enter in {where} only after {bar}"]
    level = fmt_price(plan.anchor.price)
    if direction == "LONG":
        if price > zone.high:
            return [f"Wait for a pullback into {where}; enter when a bar holds above {level}"]
        return [f"Price is in the zone: enter when a bar holds above {level}"]
    if price < zone.low:
        return [f"Wait for a rally into {where}; short when a red bar rejects {level}"]
    return [f"Price is in the zone: short when a red bar rejects {level}"]
