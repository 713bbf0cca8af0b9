"""Position size = account × risk % ÷ stop distance, rounded down to what can be bought.

The arithmetic is in ``Decimal`` so that rounding cannot push the loss at the
stop above the budget: the budget is rounded down to the cent, the quantity
down to the asset's unit (whole shares; a configurable coin step for crypto),
and the reported maximum risk up to the cent. The stop distance is the worst
case: the far edge of the entry zone to the far edge of the stop range.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

import msgspec

from planner.config import RiskConfig
from planner.parts import AssetClass, PositionPlan, SizeTier, Unit
from planner.prices import fmt_delta, fmt_money, fmt_price

FRACTION: dict[SizeTier, Decimal] = {
    "full": Decimal(1), "half": Decimal("0.5"), "quarter": Decimal("0.25"),
}
_CENT = Decimal("0.01")


class SizingRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why no quantity fits; the plan becomes NO TRADE with this reason."""

    reason: str


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def size_tier(confidence: float, cfg: RiskConfig) -> SizeTier:
    """Full from ``full_size_confidence``, half from ``half_size_confidence``, else quarter."""
    if confidence >= cfg.full_size_confidence:
        return "full"
    if confidence >= cfg.half_size_confidence:
        return "half"
    return "quarter"


def unit_of(asset_class: AssetClass) -> Unit:
    return "coins" if asset_class == "crypto" else "shares"


def quantity_step(symbol: str, asset_class: AssetClass, cfg: RiskConfig) -> Decimal:
    if asset_class != "crypto":
        return Decimal(1)
    return _dec(cfg.crypto_qty_steps.get(symbol, cfg.crypto_qty_step))


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def risk_budget(account: float, risk_pct: float) -> Decimal:
    """Account × risk %, rounded down to the cent."""
    return _floor(_dec(account) * _dec(risk_pct) / 100, _CENT)


def size_position(
    *,
    account: float,
    risk_pct: float,
    entry_worst: float,
    entry_mid: float,
    stop_worst: float,
    confidence: float,
    symbol: str,
    asset_class: AssetClass,
    cfg: RiskConfig,
) -> PositionPlan | SizingRefusal:
    """The largest quantity whose loss at the stop stays within the tier's share of the budget."""
    with localcontext() as ctx:
        ctx.prec = 60  # room for 1e15 prices times 1e15 quantities, to the cent
        return _size(account=account, risk_pct=risk_pct, entry_worst=entry_worst,
                     entry_mid=entry_mid, stop_worst=stop_worst, confidence=confidence,
                     symbol=symbol, asset_class=asset_class, cfg=cfg)


def _size(
    *, account: float, risk_pct: float, entry_worst: float, entry_mid: float, stop_worst: float,
    confidence: float, symbol: str, asset_class: AssetClass, cfg: RiskConfig,
) -> PositionPlan | SizingRefusal:
    tier = size_tier(confidence, cfg)
    budget = risk_budget(account, risk_pct)
    per_unit = abs(_dec(entry_worst) - _dec(stop_worst))
    if per_unit == 0:
        return SizingRefusal(reason="Stop distance is zero: the stop sits at the entry")
    step = quantity_step(symbol, asset_class, cfg)
    allowed = budget * FRACTION[tier]
    by_risk = _floor(allowed / per_unit, step)
    if by_risk * per_unit > allowed:  # the division rounded up at the last digit
        by_risk -= step
    max_cost = _dec(account) * _dec(cfg.max_notional_pct) / 100
    by_cost = _floor(max_cost / _dec(max(entry_worst, entry_mid)), step)
    quantity = min(by_risk, by_cost)
    unit = unit_of(asset_class)
    if quantity <= 0:
        return SizingRefusal(reason=_zero_reason(by_risk <= by_cost, unit, tier, allowed, step,
                                                 per_unit, max_cost, entry_worst))
    max_risk = (quantity * per_unit).quantize(_CENT, rounding=ROUND_CEILING)
    return PositionPlan(
        size=tier, quantity=float(quantity), unit=unit,
        total_cost=float((quantity * _dec(entry_mid)).quantize(_CENT, rounding=ROUND_HALF_UP)),
        max_risk=float(max_risk), risk_budget=float(budget), risk_pct=risk_pct,
        stop_distance=float(per_unit),
    )


def _zero_reason(
    by_risk: bool, unit: Unit, tier: SizeTier, allowed: Decimal, step: Decimal,
    per_unit: Decimal, max_cost: Decimal, entry: float,
) -> str:
    """Which limit rounded the position to nothing, with the numbers that did it."""
    if by_risk:
        return (f"Position rounds to zero {unit}: the {tier} risk budget of "
                f"{fmt_money(float(allowed))} buys less than one step ({step.normalize()}) "
                f"at a stop distance of {fmt_delta(float(per_unit), entry)}")
    return (f"Position rounds to zero {unit}: buying power of {fmt_money(float(max_cost))} "
            f"buys less than one step ({step.normalize()}) at {fmt_price(entry)}")
