"""Stops and targets from structure, framed by the trade style, and the ATR sanity check.

The seed's frame per style (SCALP tight, DAY intraday support, SWING daily
structure, INVESTMENT wide) is expressed as distances in 30-day ATR: a stop sits
a buffer beyond the nearest level that is at least ``min_stop_atr`` away, and the
buffer widens with the volatility regime. When the structure needs a wider stop
than the style allows, the plan says so and names a style that fits.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from planner.config import PlannerConfig, StyleConfig
from planner.parts import AssetClass, EntryZone, Level, Range, Style, Target, TradeDirection
from planner.prices import ceil_to, floor_to, fmt_price, price_tick

STYLE_ORDER: tuple[Style, ...] = ("SCALP", "DAY", "SWING", "INVESTMENT")


class StopPlacement(msgspec.Struct, frozen=True, kw_only=True):
    price_range: Range
    level: Level | None
    rationale: str
    distance_atr: float
    """From the middle of the entry zone to the near edge of the stop, in ATR."""


class WideStop(msgspec.Struct, frozen=True, kw_only=True):
    suggested_style: Style | None
    text: str


def place_stop(
    direction: TradeDirection, zone: EntryZone, levels: Sequence[Level], atr: float,
    frame: StyleConfig, buffer_multiplier: float, asset_class: AssetClass,
) -> StopPlacement:
    """Beyond the nearest structure level that leaves room; an ATR stop if none does."""
    sign = 1.0 if direction == "LONG" else -1.0
    buffer = frame.stop_buffer_atr * buffer_multiplier * atr
    ref, edge = zone.mid, (zone.low if sign > 0 else zone.high)
    beyond = [lv for lv in levels if sign * (edge - lv.price) > 0
              and sign * (ref - lv.price) + buffer >= frame.min_stop_atr * atr]
    level = max(beyond, key=lambda lv: sign * lv.price) if beyond else None
    if level is not None:
        near = level.price - sign * buffer
        rationale = (f"Stop {'below' if sign > 0 else 'above'} {fmt_price(level.price)}"
                     f"{_named(level)}: {frame.stop_buffer_atr * buffer_multiplier:g}× ATR beyond "
                     f"the nearest {'support' if sign > 0 else 'resistance'} behind the entry zone")
    else:
        # Never inside the entry zone, whatever the configured distances.
        near = sign * min(sign * (ref - sign * frame.default_stop_atr * atr),
                          sign * (edge - sign * buffer))
        rationale = (f"No structure beyond the entry within reach: stop "
                     f"{frame.default_stop_atr:g}× ATR from the entry zone")
    far = near - sign * buffer
    tick = price_tick(ref, asset_class)
    if sign > 0:
        price_range = Range(low=floor_to(far, tick), high=floor_to(near, tick))
        if price_range.low < tick:  # a stop at or below $0 could never trigger
            price_range = Range(low=tick, high=max(price_range.high, 2 * tick))
            rationale += "; floored one tick above $0"
    else:
        price_range = Range(low=ceil_to(near, tick), high=ceil_to(far, tick))
    distance = abs(ref - (price_range.high if sign > 0 else price_range.low)) / atr
    return StopPlacement(price_range=price_range, level=level, rationale=rationale,
                         distance_atr=distance)


def _named(level: Level) -> str:
    return f" ({level.label})" if level.label else ""


def wide_stop(distance_atr: float, style: Style, config: PlannerConfig) -> WideStop | None:
    """None when the stop fits the style; else the narrowest style that fits, or none."""
    if distance_atr <= config.style(style).max_stop_atr:
        return None
    wider = STYLE_ORDER[STYLE_ORDER.index(style) + 1:]
    fits = [name for name in wider if distance_atr <= config.style(name).max_stop_atr]
    suggested = fits[0] if fits else None
    advice = f"consider {suggested} or NO TRADE" if suggested else "consider NO TRADE"
    return WideStop(suggested_style=suggested,
                    text=f"Structure needs a stop {distance_atr:.2f}× ATR away, wider than "
                         f"{style} allows ({config.style(style).max_stop_atr:g}× ATR): {advice}")


def reach_probability(tp1: Range, distance_atr: float, frame: StyleConfig) -> Range:
    """TP2's chance: TP1's, halved every ``reach_half_life_atr`` beyond TP1, within 1..99.

    TP1's chance is the plan's confidence range (the confidence is the chance of
    reaching TP1 before the stop), so both targets and the explanation share one model.
    """
    decay = 0.5 ** (max(0.0, distance_atr) / frame.reach_half_life_atr)
    return Range(low=float(round(min(99.0, max(1.0, tp1.low * decay)))),
                 high=float(round(min(99.0, max(1.0, tp1.high * decay)))))


class _Frame(msgspec.Struct, frozen=True, kw_only=True):
    """What every target computation of one plan shares."""

    sign: float
    ref: float
    band: float
    tick: float
    atr: float
    style: StyleConfig
    tp1_chance: Range


def place_targets(
    direction: TradeDirection, zone: EntryZone, stop: Range, levels: Sequence[Level],
    atr: float, frame: StyleConfig, confidence: Range, asset_class: AssetClass, *,
    beyond: float | None = None,
) -> tuple[list[Target], list[str]]:
    """Two scaled targets at the next levels that pay at least ``min_reward_risk``.

    A target range must clear the entry zone by a tick, and ``beyond`` (a trigger
    level that must break first) too; where no level qualifies the style's ATR
    distance stands in ("trend-based" for INVESTMENT). ``confidence`` is the plan's
    range, which is TP1's chance.
    """
    sign = 1.0 if direction == "LONG" else -1.0
    f = _Frame(sign=sign, ref=zone.mid, band=frame.target_band_atr * atr, atr=atr,
               tick=price_tick(zone.mid, asset_class), style=frame, tp1_chance=confidence)
    edge = zone.high if sign > 0 else zone.low
    if beyond is not None and sign * (beyond - edge) > 0:
        edge = beyond
    risk = abs(f.ref - (stop.high if sign > 0 else stop.low))
    clear = sign * (edge - f.ref) + f.band + f.tick
    min_gain = max(frame.min_reward_risk * risk, clear)
    ahead = sorted((lv for lv in levels if sign * (lv.price - edge) >= f.band + f.tick),
                   key=lambda lv: sign * lv.price)
    usable = [lv for lv in ahead if sign * (lv.price - f.ref) >= min_gain]
    tp1, why1 = _level_or_atr(usable[:1], f.ref, max(frame.tp1_atr * atr, min_gain), "TP1", f)
    later = [lv for lv in usable if sign * (lv.price - tp1) > 2 * f.band + f.tick]
    tp2, why2 = _level_or_atr(later[:1], tp1,
                              max((frame.tp2_atr - frame.tp1_atr) * atr, 2 * f.band + f.tick),
                              "TP2", f)
    first = _target("TP1", tp1, frame.tp1_exit_fraction, why1, f)
    targets = [first, _target("TP2", tp2, 1 - frame.tp1_exit_fraction, why2, f,
                              tp1_mid=first.price_range.mid)]
    kind = "Resistance" if sign > 0 else "Support"
    notes = [f"{kind} at {fmt_price(lv.price)} lies before TP1 "
             f"(less than {frame.min_reward_risk:g}R from the entry)"
             for lv in ahead if sign * (lv.price - f.ref) < min_gain]
    return targets, notes


def _level_or_atr(
    level: list[Level], base: float, fallback: float, name: str, f: _Frame
) -> tuple[float, str]:
    if level:
        kind = "resistance" if f.sign > 0 else "support"
        return level[0].price, f"{name} at {kind} {fmt_price(level[0].price)}{_named(level[0])}"
    origin = "the entry" if name == "TP1" else "TP1"
    return (base + f.sign * fallback,
            f"{name}: no level ahead, trend-based {fallback / f.atr:.2f}× ATR beyond {origin}")


def _target(
    name: str, level: float, fraction: float, why: str, f: _Frame, tp1_mid: float | None = None
) -> Target:
    """Exit just before the level: [level − band, level] for a LONG, mirrored for a SHORT."""
    if f.sign > 0:
        price_range = Range(low=floor_to(level - f.band, f.tick), high=floor_to(level, f.tick))
    else:
        price_range = Range(low=ceil_to(level, f.tick), high=ceil_to(level + f.band, f.tick))
        if price_range.low < f.tick:  # a price cannot fall to $0 or below
            price_range = Range(low=f.tick, high=max(price_range.high, 2 * f.tick))
            why += " (floored one tick above $0)"
    if tp1_mid is None:
        chance = f.tp1_chance
    else:
        chance = reach_probability(f.tp1_chance, abs(price_range.mid - tp1_mid) / f.atr, f.style)
    return Target(label=name, price_range=price_range, exit_fraction=round(fraction, 4),
                  probability=chance, rationale=why)


def target_warning(
    entry_mid: float, tp1_mid: float, atr: float, style: Style, threshold: float
) -> str | None:
    """The seed's soft check: warn when TP1 is further than the style's ATR multiple."""
    ratio = abs(tp1_mid - entry_mid) / atr
    if ratio <= threshold:
        return None
    return (f"TP1 is {ratio:.1f}x ATR from entry (threshold: {threshold:.1f}x) — "
            f"verify achievable in {style} timeframe")
