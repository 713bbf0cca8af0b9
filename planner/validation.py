"""Checks that keep nonsense out of plans, on the way in and on the way out.

Decoded messages already satisfy their field bounds, but Structs built in Python
skip them; so every input is re-validated here through a msgspec round trip (the
error names the field), then checked across fields (HOD above LOD, bars whose
high is their high). A plan that fails its own invariants is never published:
the builder turns it into NO TRADE with the failed check as its reason.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from planner.messages import (
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    TradePlan,
    WildCardVerdict,
)
from planner.parts import Account


def field_problem(value: Any, label: str) -> str | None:
    """The first field bound ``value`` breaks, named as ``label.path``; None if valid."""
    try:
        msgspec.convert(msgspec.to_builtins(value), type(value))
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = text.rsplit(" - at `$", 1)
        if len(where) == 2:
            return f"{label}{where[1].rstrip('`')}: {where[0]}"
        return f"{label}: {text}"
    return None


def snapshot_problems(snapshot: MarketSnapshot) -> list[str]:
    problems = []
    if snapshot.hod < snapshot.lod:
        problems.append(f"snapshot.hod {snapshot.hod:g} is below snapshot.lod {snapshot.lod:g}")
    for i, bar in enumerate(snapshot.bars):
        if bar.high < max(bar.open, bar.close, bar.low) or bar.low > min(bar.open, bar.close):
            problems.append(f"snapshot.bars[{i}]: high/low do not contain open and close")
            break
    return problems


def input_problems(
    technical: TechnicalVerdict,
    macro: MacroVerdict,
    wildcard: WildCardVerdict,
    snapshot: MarketSnapshot,
    account: Account,
    now: float,
) -> list[str]:
    """Everything wrong with a plan request; empty when a plan can be built on it."""
    pairs: list[tuple[Any, str]] = [(technical, "technical"), (macro, "macro"),
                                    (wildcard, "wildcard"), (snapshot, "snapshot"),
                                    (account, "account")]
    problems = [p for value, label in pairs if (p := field_problem(value, label))]
    if not math.isfinite(now) or now < 0:
        problems.append(f"now: expected seconds since the epoch, found {now!r}")
    if problems:
        return problems
    problems += snapshot_problems(snapshot)
    for verdict, label in ((technical, "technical"), (wildcard, "wildcard")):
        if verdict.symbol != snapshot.symbol:
            problems.append(f"{label}.symbol {verdict.symbol!r} does not match the snapshot's "
                            f"{snapshot.symbol!r}")
    return problems


def plan_problems(plan: TradePlan) -> list[str]:
    """Invariants every published plan holds; a TRADE must be internally consistent."""
    if plan.decision == "NO_TRADE":
        missing = [] if plan.no_trade_reasons else ["NO_TRADE without a reason"]
        extra = ["NO_TRADE with a position"] if plan.position is not None else []
        return missing + extra
    if (plan.direction is None or plan.entry is None or plan.position is None
            or plan.stop_loss is None or plan.time_stop is None or len(plan.targets) != 2):
        return ["TRADE without direction, entry, position, stop, two targets or time stop"]
    problems = []
    if plan.confidence < 1:
        problems.append(f"TRADE with confidence {plan.confidence:g}")
    if not plan.confidence_range.low <= plan.confidence <= plan.confidence_range.high:
        problems.append("confidence outside its own range")
    return problems + _position_problems(plan) + _chance_problems(plan) \
        + _geometry_problems(plan)


def _position_problems(plan: TradePlan) -> list[str]:
    """The figures agree with their one entry price; a long option risks at most its cost."""
    position = plan.position
    assert position is not None
    problems = []
    if position.quantity <= 0:
        problems.append("TRADE with quantity 0")
    if position.max_risk > position.risk_budget:
        problems.append("maximum risk above the risk budget")
    if position.unit == "contracts" and position.max_risk > position.total_cost:
        problems.append("a long option risks more than it costs")
    if position.unit != "contracts" and position.entry_price is not None:
        cost = position.quantity * position.entry_price
        if abs(position.total_cost - cost) > 0.005 + 1e-9 * cost:
            problems.append("total cost is not quantity × entry price")
    return problems


def _chance_problems(plan: TradePlan) -> list[str]:
    """One model: TP1's chance is the confidence range, TP2's no higher."""
    tp1, tp2 = (t.probability for t in plan.targets)
    problems = []
    if (tp1.low, tp1.high) != (plan.confidence_range.low, plan.confidence_range.high):
        problems.append("TP1's chance is not the confidence range")
    if tp2.low > tp1.low or tp2.high > tp1.high:
        problems.append("TP2 is more likely than TP1")
    return problems


def _geometry_problems(plan: TradePlan) -> list[str]:
    """Stop behind the entry zone, targets ahead of it, every range ordered."""
    assert plan.entry is not None and plan.stop_loss is not None
    zone = plan.entry.zone
    # An options plan's price_range is the premium stop; its stock stop is the one to compare.
    stop = plan.stop_loss.stock_price_range or plan.stop_loss.price_range
    ranges = [(zone.low, zone.high), (stop.low, stop.high), (plan.confidence_range.low,
              plan.confidence_range.high)]
    ranges += [(t.price_range.low, t.price_range.high) for t in plan.targets]
    ranges += [(t.probability.low, t.probability.high) for t in plan.targets]
    problems = [f"range {low:g}..{high:g} is reversed" for low, high in ranges if low > high]
    prices = [zone.low, stop.low, *(t.price_range.low for t in plan.targets)]
    if min(prices) <= 0:
        problems.append("a price at or below $0")
    if not zone.low <= zone.mid <= zone.high:
        problems.append("entry mid outside the entry zone")
    trigger = plan.entry.trigger_level
    if plan.direction == "LONG":
        if stop.high >= zone.low:
            problems.append("LONG stop is not below the entry zone")
        if any(t.price_range.low <= zone.high for t in plan.targets):
            problems.append("LONG target is not above the entry zone")
        if trigger is not None and (zone.high < trigger or any(
                t.price_range.low <= trigger for t in plan.targets)):
            problems.append("LONG entry or target is not beyond its trigger level")
    else:
        if stop.low <= zone.high:
            problems.append("SHORT stop is not above the entry zone")
        if any(t.price_range.high >= zone.low for t in plan.targets):
            problems.append("SHORT target is not below the entry zone")
        if trigger is not None and (zone.low > trigger or any(
                t.price_range.high >= trigger for t in plan.targets)):
            problems.append("SHORT entry or target is not beyond its trigger level")
    return problems
