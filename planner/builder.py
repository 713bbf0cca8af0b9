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

from planner import anticipation
from planner.chase import check_chase
from planner.confidence import explain
from planner.config import PlannerConfig
from planner.entry_plan import EntryPlan, plan_entry
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
    EntryZone,
    Level,
    PlanFlags,
    Range,
    StopLoss,
    Style,
    Synthesis,
    Target,
    TradeDirection,
)
from planner.sizing import Sized, SizingRefusal, choose_tier, size_position, size_tier
from planner.synthesis import decide_trade, make_synthesis, vwap_bias, vwap_note
from planner.time_stops import time_stop
from planner.validation import input_problems, plan_problems
from planner.weighing import Context, Weighed, weigh


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
    weighed = weigh(decision.resolution, Context(
        direction=direction, technical=technical, macro=macro,
        wildcard_risk=wildcard.overall_risk, vwap_bias=bias,
        market_status=snapshot.market_status), config)
    plan = _trade(req, direction, weighed, syn)
    broken = plan_problems(plan)
    if broken:
        return _no_trade(req, [f"Critical system error: plan failed its checks: {p}"
                               for p in broken], syn)
    return plan


def _levels(req: _Request, direction: TradeDirection) -> tuple[list[Level], list[Level]]:
    """(levels behind the trade, levels ahead of it).

    Today's extremes are structure ahead of every trade, but behind it (for the stop)
    only in the styles whose stops follow intraday structure: SWING and INVESTMENT
    stops are anchored to the Technical verdict's daily levels.
    """
    snap, tech = req.snapshot, req.technical
    low = Level(price=min(snap.lod, snap.price), label="LOD")
    high = Level(price=max(snap.hod, snap.price), label="HOD")
    session = req.config.style(req.style).session_stop_levels
    if direction == "LONG":
        return [*tech.supports, *([low] if session else [])], [*tech.resistances, high]
    return [*tech.resistances, *([high] if session else [])], [*tech.supports, low]


class _Exits(msgspec.Struct, frozen=True, kw_only=True):
    stop: StopPlacement
    too_wide: WideStop | None
    targets: list[Target]
    notes: list[str]


def _exits(req: _Request, direction: TradeDirection, entry: EntryPlan, chance: Range) -> _Exits:
    """Stop behind the structure, the style check on its width, two targets ahead."""
    snap, cfg, zone = req.snapshot, req.config, entry.entry.zone
    frame = cfg.style(req.style)
    behind, ahead = _levels(req, direction)
    stop = place_stop(direction, zone, behind, snap.atr_30d, frame,
                      cfg.volatility.multiplier(req.technical.volatility_regime), snap.asset_class)
    targets, notes = place_targets(direction, zone, stop.price_range, ahead, snap.atr_30d,
                                   frame, chance, snap.asset_class,
                                   beyond=entry.entry.trigger_level)
    return _Exits(stop=stop, too_wide=wide_stop(stop.distance_atr, req.style, cfg),
                  targets=targets, notes=notes)


def _position(
    req: _Request, direction: TradeDirection, zone: EntryZone, stop: Range, weighed: Weighed
) -> Sized | SizingRefusal:
    """Sized on the worst fill (the zone edge furthest from the stop) to the far stop edge."""
    long, cfg = direction == "LONG", req.config
    steps = cfg.short_safety.anticipatory_size_steps if weighed.short.anticipatory else 0
    tier, reason = choose_tier(weighed.confidence, cfg.risk, steps_down=steps,
                               why="anticipatory signal")
    return size_position(
        account=req.account.size, risk_pct=req.account.risk_pct or cfg.risk.risk_pct,
        entry_price=zone.high if long else zone.low, entry_high=zone.high,
        stop_worst=stop.low if long else stop.high, tier=tier, tier_reason=reason,
        notional_cap_pct=cfg.style(req.style).notional_cap_pct,
        symbol=req.snapshot.symbol, asset_class=req.snapshot.asset_class, cfg=cfg.risk)


def _flags(weighed: Weighed, chase: ChaseCheck, too_wide: WideStop | None) -> PlanFlags:
    short = weighed.short
    return PlanFlags(
        short_safety=list(short.flags), anticipatory_signal=short.anticipatory,
        entry_vocabulary_mismatch=short.vocabulary_mismatch, short_confidence_capped=short.capped,
        chase_blocked=chase.status == "BLOCK", structure_wider_than_style=too_wide is not None,
        suggested_style=too_wide.suggested_style if too_wide else None,
        suggestion=too_wide.text if too_wide else "")


def _notes(
    req: _Request, weighed: Weighed, entry: EntryPlan, sized: Sized, chase: ChaseCheck,
    exits: _Exits,
) -> list[str]:
    """The warnings the entry, the size, the chase guard and the exits add."""
    notes = []
    if entry.breakdown is not None:
        natural, tier = size_tier(weighed.confidence, req.config.risk), sized.position.size
        size = (f"; size lowered from {natural} to {tier}" if natural != tier
                else f"; size stays {tier}")
        notes.append(anticipation.action(entry.entry.zone, entry.breakdown, size))
    notes += [sized.cap_note] if sized.cap_note else []
    notes += exits.notes
    notes += [chase.reason] if chase.status == "BLOCK" else []
    notes += [exits.too_wide.text] if exits.too_wide else []
    return notes


def _trade(req: _Request, direction: TradeDirection, weighed: Weighed, syn: Synthesis) -> TradePlan:
    """Entry, chase guard, exits and size; a NO TRADE when the guard or the size refuses."""
    snap, cfg, point = req.snapshot, req.config, weighed.confidence
    chase = check_chase(direction, price=snap.price, hod=snap.hod, lod=snap.lod,
                        atr=snap.atr_30d, bars=snap.bars, cfg=cfg.chase)
    if chase.status == "BLOCK" and cfg.chase.on_block == "no_trade":
        return _no_trade(req, [chase.reason], syn, chase=chase)
    frame = cfg.style(req.style)
    entry = plan_entry(direction, snap, req.technical, frame, chase, cfg.chase,
                       anticipatory=weighed.short.anticipatory)
    zone = entry.entry.zone
    exits = _exits(req, direction, entry, weighed.range)
    sized = _position(req, direction, zone, exits.stop.price_range, weighed)
    if isinstance(sized, SizingRefusal):
        return _no_trade(req, [sized.reason], syn, chase=chase)
    return TradePlan(
        symbol=snap.symbol, ts=req.now, style=req.style, asset_class=snap.asset_class,
        decision="TRADE", direction=direction, confidence=point,
        confidence_range=weighed.range,
        confidence_explanation=explain(point, weighed.range, syn.agreement, direction,
                                       _main_risk(req), cfg.synthesis),
        synthesis=syn, entry=entry.entry, position=sized.position,
        stop_loss=StopLoss(price_range=exits.stop.price_range, rationale=exits.stop.rationale,
                           total_loss=sized.position.max_risk,
                           level=exits.stop.level.price if exits.stop.level else None),
        targets=exits.targets, time_stop=time_stop(req.style, snap.asset_class, req.now, frame),
        target_warning=target_warning(zone.mid, exits.targets[0].price_range.mid, snap.atr_30d,
                                      req.style, frame.target_warning_atr),
        chase=chase, flags=_flags(weighed, chase, exits.too_wide),
        warnings=[*weighed.warnings, *_notes(req, weighed, entry, sized, chase, exits)])


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
