"""The plan's entry: the zone, the words for it, and what to wait for, chase guard included.

Three cases, one shape (:class:`Entry`):

- the usual zone at the nearest support (LONG) or resistance (SHORT) within reach;
- the same zone moved out of the chase zone when the anti-chase guard blocks;
- an anticipatory SHORT's zone just under the support whose breakdown it waits for
  (planner/anticipation.py). That zone is not moved by the chase guard: it is only
  entered on a retest from below, which is the bounce the guard asks for.
"""

from __future__ import annotations

import msgspec

from planner import anticipation
from planner.config import ChaseConfig, StyleConfig
from planner.entry import ZonePlan, entry_zone, shift_above, shift_below, strategy, trigger, waiting
from planner.messages import MarketSnapshot, TechnicalVerdict
from planner.parts import ChaseCheck, Entry, Level, TradeDirection
from planner.prices import fmt_range, price_tick


class EntryPlan(msgspec.Struct, frozen=True, kw_only=True):
    entry: Entry
    breakdown: Level | None = None
    """The level an anticipatory SHORT waits to see broken; None otherwise."""


class _Guarded(msgspec.Struct, frozen=True, kw_only=True):
    plan: ZonePlan
    waiting: list[str]
    trigger: str | None = None
    """Set when the zone moved: a moved zone leans on no level and is not "near the
    market", so it gets its own words instead of the no-level ones."""


def _guarded_zone(
    direction: TradeDirection, snap: MarketSnapshot, technical: TechnicalVerdict,
    frame: StyleConfig, chase: ChaseCheck, chase_cfg: ChaseConfig,
) -> _Guarded:
    """The entry zone, moved out of the chase zone when the guard blocks."""
    levels = technical.supports if direction == "LONG" else technical.resistances
    plan = entry_zone(direction, snap.price, levels, snap.vwap, snap.atr_30d, frame,
                      snap.asset_class)
    if chase.status != "BLOCK":
        return _Guarded(plan=plan, waiting=waiting(direction, plan, snap.price))
    tick, reach = price_tick(snap.price, snap.asset_class), frame.entry_reach_atr * snap.atr_30d
    if direction == "LONG":
        zone = shift_below(plan.zone, chase.long_zone.low, tick, reach, snap.price)
        bars, move, side = "red", "pullback", "below"
        verb, bar = "Buy", "a bar closing above the prior bar's high"
    else:
        zone = shift_above(plan.zone, chase.short_zone.high, tick, reach, snap.price)
        bars, move, side = "green", "bounce", "above"
        verb, bar = "Short", "a bar closing below the prior bar's low"
    where = fmt_range(zone.low, zone.high)
    wait = f"Do not chase: wait for {chase_cfg.pullback_bars}+ {bars} bars and a {move} " \
           f"into {where}, {side} the chase zone"
    if zone == plan.zone:
        return _Guarded(plan=plan, waiting=[wait, *waiting(direction, plan, snap.price)])
    return _Guarded(plan=ZonePlan(zone=zone, anchor=None),
                    waiting=[wait, f"Then enter in {where} only after {bar}"],
                    trigger=f"{verb} in {where}, {side} the chase zone, after the {move} and "
                            f"{bar}")


def plan_entry(
    direction: TradeDirection, snap: MarketSnapshot, technical: TechnicalVerdict,
    frame: StyleConfig, chase: ChaseCheck, chase_cfg: ChaseConfig, *, anticipatory: bool,
) -> EntryPlan:
    """The entry of a TRADE plan, in the seed's words."""
    if direction == "SHORT" and anticipatory:
        level = anticipation.breakdown_level(technical.supports, snap.lod, snap.price)
        plan = anticipation.breakdown_zone(level, snap.price, snap.atr_30d, frame,
                                           snap.asset_class)
        entry = Entry(direction=direction, trigger=anticipation.trigger(plan, level),
                      strategy=anticipation.STRATEGY, zone=plan.zone,
                      waiting_instructions=anticipation.waiting(plan, level),
                      trigger_level=level.price)
        return EntryPlan(entry=entry, breakdown=level)
    guarded = _guarded_zone(direction, snap, technical, frame, chase, chase_cfg)
    plan = guarded.plan
    entry = Entry(direction=direction, trigger=guarded.trigger or trigger(direction, plan),
                  zone=plan.zone, strategy=strategy(direction, technical.entry_type),
                  waiting_instructions=guarded.waiting)
    return EntryPlan(entry=entry)
