"""An anticipatory SHORT enters after the breakdown it anticipates, never ahead of it.

The seed flags a SHORT whose pattern has not broken yet as "anticipatory signal -
wait for breakdown". Waiting for a breakdown of support S and shorting a rally into
resistance above price cannot both be followed, and when S is at or beyond TP1
the wait means TP1 was reached before the entry. So the anticipatory plan is one
sequence: a bar closes below S (the trigger), then price retests S from below and
the plan shorts that retest, in a zone just under S. Its targets lie beyond S by
construction (planner/exits.py checks it), its stop goes back above the structure
that a failed breakdown would reclaim, and its size is a tier smaller.

S is the nearest Technical support at or below price (the pattern's level); with
none, today's low (a break to a new low).
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.config import StyleConfig
from planner.entry import ZonePlan, fill_chance
from planner.parts import AssetClass, EntryZone, Level
from planner.prices import ceil_to, floor_to, fmt_price, fmt_range, price_tick

STRATEGY = "short the retest of the broken support"


def breakdown_level(supports: Sequence[Level], lod: float, price: float) -> Level:
    """The level whose break the plan waits for: the nearest support at or below price."""
    below = [lv for lv in supports if lv.price <= price]
    if below:
        return max(below, key=lambda lv: lv.price)
    return Level(price=min(lod, price), label="LOD")


def breakdown_zone(
    level: Level, price: float, atr: float, frame: StyleConfig, asset_class: AssetClass
) -> ZonePlan:
    """Just under the broken level: ``[S − entry width, S]``, where its retest is shorted."""
    tick = price_tick(level.price, asset_class)
    high = floor_to(level.price, tick)
    low = max(tick, ceil_to(high - frame.entry_width_atr * atr, tick))
    if high <= low:
        high = low + tick
    reach = frame.entry_reach_atr * atr
    zone = EntryZone(low=low, high=high, mid=(low + high) / 2,
                     confidence=float(round(fill_chance(price, low, high, reach))))
    return ZonePlan(zone=zone, anchor=level)


def _named(level: Level) -> str:
    return f" ({level.label})" if level.label else ""


def trigger(plan: ZonePlan, level: Level) -> str:
    zone = fmt_range(plan.zone.low, plan.zone.high)
    return (f"Short in {zone} after a confirmed breakdown: a bar closing below "
            f"{fmt_price(level.price)}{_named(level)}")


def waiting(plan: ZonePlan, level: Level) -> list[str]:
    zone, at = fmt_range(plan.zone.low, plan.zone.high), fmt_price(level.price)
    return [f"Anticipatory signal: wait for a confirmed breakdown (a bar closing below "
            f"{at}{_named(level)}), then short the retest of {at} from below in {zone}; "
            "do not short ahead of the break"]


def action(zone_range: EntryZone, level: Level, size_note: str) -> str:
    """The warning that says what the anticipatory row did to the plan."""
    zone = fmt_range(zone_range.low, zone_range.high)
    return (f"Anticipatory signal: the entry waits for the breakdown of "
            f"{fmt_price(level.price)}{_named(level)} and shorts its retest in {zone} instead "
            f"of shorting ahead of it; targets lie beyond the breakdown level{size_note}")
