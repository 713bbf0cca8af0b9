"""From three verdicts and a snapshot to one complete trade plan.

``build_plan`` runs the seed's steps in order: validate, synthesise and decide,
weigh the context into the confidence (VWAP, Wild Card, SHORT safety), place
the entry, guard against chasing, place the stop and the targets, size the
position, set the time stop, and finally check the plan's own invariants. Every
step is a pure function of its inputs; ``now`` is the only clock.
"""

from __future__ import annotations

import math

import msgspec

from planner.chase import check_chase
from planner.confidence import against_vwap, confidence_range, explain, wildcard_risk
from planner.config import PlannerConfig
from planner.entry import ZonePlan, entry_zone, shift_above, shift_below, strategy, trigger, waiting
from planner.exits import (
    StopPlacement,
    WideStop,
    place_stop,
    place_targets,
    target_warning,
    wide_stop,
)
from planner.messages import (
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    TradePlan,
    WildCardVerdict,
)
from planner.parts import (
    SEVERITY_RANK,
    Account,
    ChaseCheck,
    Entry,
    EntryZone,
    Level,
    PlanFlags,
    PositionPlan,
    Range,
    StopLoss,
    Style,
    Synthesis,
    Target,
    TradeDirection,
)
from planner.prices import fmt_price, fmt_range, price_tick
from planner.short_safety import ShortCheck, check_short
from planner.sizing import SizingRefusal, size_position
from planner.synthesis import decide_trade, make_synthesis, vwap_bias, vwap_note
from planner.time_stops import time_stop
from planner.validation import input_problems, plan_problems


class _Request(msgspec.Struct, frozen=True, kw_only=True):
    """One plan request, carried through the steps."""

    technical: TechnicalVerdict
    macro: MacroVerdict
    wildcard: WildCardVerdict
    snapshot: MarketSnapshot
    account: Account
    style: Style
    now: float
    config: PlannerConfig


class _Weighed(msgspec.Struct, frozen=True, kw_only=True):
    confidence: float
    warnings: tuple[str, ...]
    short: ShortCheck


def build_plan(
    technical: TechnicalVerdict,
    macro: MacroVerdict,
    wildcard: WildCardVerdict,
    snapshot: MarketSnapshot,
    account: Account,
    style: Style,
    now: float,
    config: PlannerConfig,
    *,
    critical_error: str | None = None,
) -> TradePlan:
    """The complete plan, or a NO TRADE plan that lists every reason it is one."""
    req = _Request(technical=technical, macro=macro, wildcard=wildcard, snapshot=snapshot,
                   account=account, style=style, now=now, config=config)
    problems = input_problems(technical, macro, wildcard, snapshot, account, now)
    if problems:
        return _no_trade(req, [f"Critical system error: invalid input: {p}" for p in problems])
    decision = decide_trade(technical, macro, market_status=snapshot.market_status,
                            critical_error=critical_error, cfg=config.synthesis)
    bias = vwap_bias(snapshot.price, snapshot.vwap, snapshot.atr_30d,
                     config.synthesis.vwap_band_atr)
    syn = make_synthesis(technical, macro, wildcard, decision.resolution, bias=bias,
                         bias_note=vwap_note(snapshot.price, snapshot.vwap, bias))
    direction = decision.resolution.direction
    if decision.decision == "NO_TRADE" or direction is None:
        return _no_trade(req, list(decision.reasons), syn)
    weighed = _weigh(req, direction, decision.resolution.confidence, syn)
    floor = config.synthesis.min_trade_confidence
    if weighed.confidence < floor:
        return _no_trade(req, [f"Confidence {weighed.confidence:g}% after adjustments is below "
                               f"the {floor:g}% minimum to trade", *weighed.warnings], syn)
    plan = _trade(req, direction, weighed, syn)
    broken = plan_problems(plan)
    if broken:
        return _no_trade(req, [f"Critical system error: plan failed its checks: {p}"
                               for p in broken], syn)
    return plan


def _weigh(req: _Request, direction: TradeDirection, base: float, syn: Synthesis) -> _Weighed:
    """Base confidence, less VWAP and Wild Card points, through the SHORT checks, capped."""
    cfg = req.config
    vwap = against_vwap(base, direction, syn.vwap_bias, cfg.synthesis)
    wild = wildcard_risk(vwap.confidence, req.wildcard.overall_risk, cfg.synthesis)
    short = check_short(direction, wild.confidence, req.technical, req.macro, cfg.short_safety)
    point = float(round(min(short.confidence, cfg.synthesis.confidence_cap)))
    warnings = [*vwap.warnings, *wild.warnings, *short.warnings]
    if req.snapshot.market_status == "extended":
        warnings.append("Extended-hours session: thinner liquidity and wider spreads")
    return _Weighed(confidence=point, warnings=tuple(warnings), short=short)


def _levels(req: _Request, direction: TradeDirection) -> tuple[list[Level], list[Level]]:
    """(levels behind the trade, levels ahead of it); the day's extremes count as structure."""
    snap, tech = req.snapshot, req.technical
    low = Level(price=min(snap.lod, snap.price), label="LOD")
    high = Level(price=max(snap.hod, snap.price), label="HOD")
    supports, resistances = [*tech.supports, low], [*tech.resistances, high]
    return (supports, resistances) if direction == "LONG" else (resistances, supports)


def _guarded_zone(
    req: _Request, direction: TradeDirection, chase: ChaseCheck
) -> tuple[ZonePlan, list[str]]:
    """The entry zone, moved out of the chase zone when the guard blocks."""
    snap, frame, tech = req.snapshot, req.config.style(req.style), req.technical
    levels = tech.supports if direction == "LONG" else tech.resistances
    plan = entry_zone(direction, snap.price, levels, snap.vwap, snap.atr_30d, frame,
                      snap.asset_class)
    if chase.status != "BLOCK":
        return plan, []
    tick, reach = price_tick(snap.price, snap.asset_class), frame.entry_reach_atr * snap.atr_30d
    if direction == "LONG":
        zone = shift_below(plan.zone, chase.long_zone.low, tick, reach, snap.price)
        bars, move, side = "red", "pullback", "below"
    else:
        zone = shift_above(plan.zone, chase.short_zone.high, tick, reach, snap.price)
        bars, move, side = "green", "bounce", "above"
    anchor = plan.anchor if zone == plan.zone else None  # a moved zone leans on no level
    return ZonePlan(zone=zone, anchor=anchor), [
        f"Do not chase: wait for {req.config.chase.pullback_bars}+ {bars} bars and a {move} "
        f"into {fmt_range(zone.low, zone.high)}, {side} the chase zone"]


class _Exits(msgspec.Struct, frozen=True, kw_only=True):
    stop: StopPlacement
    too_wide: WideStop | None
    targets: list[Target]
    notes: list[str]


def _exits(req: _Request, direction: TradeDirection, zone: EntryZone, confidence: float) -> _Exits:
    """Stop behind the structure, the style check on its width, two targets ahead."""
    snap, cfg = req.snapshot, req.config
    frame = cfg.style(req.style)
    behind, ahead = _levels(req, direction)
    stop = place_stop(direction, zone, behind, snap.atr_30d, frame,
                      cfg.volatility.multiplier(req.technical.volatility_regime), snap.asset_class)
    targets, notes = place_targets(direction, zone, stop.price_range, ahead, snap.atr_30d,
                                   frame, confidence, snap.asset_class)
    return _Exits(stop=stop, too_wide=wide_stop(stop.distance_atr, req.style, cfg),
                  targets=targets, notes=notes)


def _position(
    req: _Request, direction: TradeDirection, zone: EntryZone, stop: Range, confidence: float
) -> PositionPlan | SizingRefusal:
    """Sized on the worst fill: far edge of the entry zone to far edge of the stop."""
    long = direction == "LONG"
    return size_position(
        account=req.account.size, risk_pct=req.account.risk_pct or req.config.risk.risk_pct,
        entry_worst=zone.high if long else zone.low, entry_mid=zone.mid,
        stop_worst=stop.low if long else stop.high, confidence=confidence,
        symbol=req.snapshot.symbol, asset_class=req.snapshot.asset_class, cfg=req.config.risk)


def _flags(weighed: _Weighed, chase: ChaseCheck, too_wide: WideStop | None) -> PlanFlags:
    short = weighed.short
    return PlanFlags(
        short_safety=list(short.flags), anticipatory_signal=short.anticipatory,
        entry_vocabulary_mismatch=short.vocabulary_mismatch, short_confidence_capped=short.capped,
        chase_blocked=chase.status == "BLOCK", structure_wider_than_style=too_wide is not None,
        suggested_style=too_wide.suggested_style if too_wide else None,
        suggestion=too_wide.text if too_wide else "")


def _trade(
    req: _Request, direction: TradeDirection, weighed: _Weighed, syn: Synthesis
) -> TradePlan:
    """Entry, chase guard, exits and size; a NO TRADE when the guard or the size refuses."""
    snap, cfg, point = req.snapshot, req.config, weighed.confidence
    chase = check_chase(direction, price=snap.price, hod=snap.hod, lod=snap.lod,
                        atr=snap.atr_30d, bars=snap.bars, cfg=cfg.chase)
    if chase.status == "BLOCK" and cfg.chase.on_block == "no_trade":
        return _no_trade(req, [chase.reason], syn, chase=chase)
    zone_plan, chase_wait = _guarded_zone(req, direction, chase)
    zone = zone_plan.zone
    exits = _exits(req, direction, zone, point)
    sized = _position(req, direction, zone, exits.stop.price_range, point)
    if isinstance(sized, SizingRefusal):
        return _no_trade(req, [sized.reason], syn, chase=chase)
    entry = Entry(direction=direction, trigger=trigger(direction, zone_plan), zone=zone,
                  strategy=strategy(direction, req.technical.entry_type),
                  waiting_instructions=[*chase_wait, *waiting(direction, zone_plan, snap.price),
                                        *_anticipation(req, weighed)])
    blocked = [chase.reason] if chase.status == "BLOCK" else []
    wide = [exits.too_wide.text] if exits.too_wide else []
    frame = cfg.style(req.style)
    return TradePlan(
        symbol=snap.symbol, ts=req.now, style=req.style, asset_class=snap.asset_class,
        decision="TRADE", direction=direction, confidence=point,
        confidence_range=confidence_range(point, req.technical.confidence, req.macro.confidence),
        confidence_explanation=explain(point, syn.agreement, direction, _main_risk(req),
                                       cfg.synthesis),
        synthesis=syn, entry=entry, position=sized,
        stop_loss=StopLoss(price_range=exits.stop.price_range, rationale=exits.stop.rationale,
                           total_loss=sized.max_risk,
                           level=exits.stop.level.price if exits.stop.level else None),
        targets=exits.targets, time_stop=time_stop(req.style, snap.asset_class, req.now, frame),
        target_warning=target_warning(zone.mid, exits.targets[0].price_range.mid, snap.atr_30d,
                                      req.style, frame.target_warning_atr),
        chase=chase, warnings=[*weighed.warnings, *exits.notes, *blocked, *wide],
        flags=_flags(weighed, chase, exits.too_wide))


def _anticipation(req: _Request, weighed: _Weighed) -> list[str]:
    """An anticipatory SHORT waits for the breakdown of the nearest support."""
    if not weighed.short.anticipatory:
        return []
    below = [lv.price for lv in req.technical.supports if lv.price < req.snapshot.price]
    level = f" below {fmt_price(max(below))}" if below else ""
    return [f"Anticipatory signal: wait for a confirmed breakdown{level} before shorting"]


def _main_risk(req: _Request) -> str:
    risks = sorted(req.wildcard.risks, key=lambda r: SEVERITY_RANK[r.severity], reverse=True)
    if risks and SEVERITY_RANK[risks[0].severity] >= SEVERITY_RANK["medium"]:
        return f"{risks[0].description[:120]}, unexpected news"
    return "unexpected news"


def _no_trade(
    req: _Request, reasons: list[str], syn: Synthesis | None = None,
    chase: ChaseCheck | None = None,
) -> TradePlan:
    """A NO TRADE plan: no entry, no position; its reasons say why."""
    text = "; ".join(reasons)
    ts = req.now if math.isfinite(req.now) and 0 <= req.now <= 1e11 else 0.0
    return TradePlan(
        symbol=req.snapshot.symbol, ts=ts, style=req.style,
        asset_class=req.snapshot.asset_class, decision="NO_TRADE", direction=None,
        confidence=0.0, confidence_range=Range(low=0.0, high=0.0),
        confidence_explanation=f"No trade: {text[:3000]}", synthesis=syn, chase=chase,
        no_trade_reasons=reasons[:256],
    )
