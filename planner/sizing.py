"""Position size = account × risk % ÷ stop distance, rounded down to what can be bought.

The arithmetic is in ``Decimal`` so that rounding cannot push the loss at the
stop above the budget: the budget is rounded down to the cent, the quantity
down to the asset's unit (whole shares; a configurable coin step for crypto),
and the reported maximum risk up to the cent. Every figure is computed at one
price, the worst fill (the edge of the entry zone furthest from the stop), to the
far edge of the stop range. The cost is capped twice: by the style's per-plan
notional cap and by the account's buying power, and the plan says which bound.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

import msgspec

from planner.config import RiskConfig
from planner.parts import AssetClass, PositionPlan, SizeLimit, SizeTier, Unit
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


def choose_tier(
    confidence: float, cfg: RiskConfig, *, steps_down: int = 0, why: str = ""
) -> tuple[SizeTier, str]:
    """The tier and the sentence that says why; ``steps_down`` tiers smaller for ``why``.

    Low confidence shrinks the position, it never refuses the trade: the seed trades
    any directional opinion, so the smallest tier is the answer to doubt.
    """
    tier = size_tier(confidence, cfg)
    if tier == "full":
        reason = f"confidence {confidence:g}% (full from {cfg.full_size_confidence:g}%)"
    elif tier == "half":
        reason = (f"confidence {confidence:g}% (half from {cfg.half_size_confidence:g}%, "
                  f"full from {cfg.full_size_confidence:g}%)")
    else:
        reason = (f"confidence {confidence:g}% is below the {cfg.half_size_confidence:g}% of a "
                  "half position: low confidence shrinks the size, it does not refuse the trade")
    order: list[SizeTier] = ["full", "half", "quarter"]
    lowered = order[min(len(order) - 1, order.index(tier) + steps_down)]
    if lowered != tier:
        reason += f"; {tier} lowered to {lowered} for the {why}"
    return lowered, f"{lowered}: {reason}"


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


CAP_NOTE = "Size capped by the"
"""How the warning begins when a cap, not the risk budget, set the quantity."""


class Sized(msgspec.Struct, frozen=True, kw_only=True):
    position: PositionPlan
    cap_note: str | None = None
    """The warning to show when a cap bound the size (it starts with ``CAP_NOTE``)."""


def size_position(
    *,
    account: float,
    risk_pct: float,
    entry_price: float,
    entry_high: float,
    stop_worst: float,
    tier: SizeTier,
    tier_reason: str = "",
    notional_cap_pct: float = 100.0,
    symbol: str,
    asset_class: AssetClass,
    cfg: RiskConfig,
) -> Sized | SizingRefusal:
    """The largest quantity whose loss at the stop stays within the tier's share of the budget
    and whose cost stays within both caps.

    ``entry_price`` is the worst fill (the zone edge furthest from the stop): the risk and
    the cost are both computed at it. The caps are checked at ``entry_high``, the most any
    fill in the zone can cost, so that no fill breaks them.
    """
    with localcontext() as ctx:
        ctx.prec = 60  # room for 1e15 prices times 1e15 quantities, to the cent
        return _size(account=account, risk_pct=risk_pct, entry_price=entry_price,
                     entry_high=entry_high, stop_worst=stop_worst, tier=tier,
                     tier_reason=tier_reason, notional_cap_pct=notional_cap_pct,
                     symbol=symbol, asset_class=asset_class, cfg=cfg)


class _Caps(msgspec.Struct, frozen=True, kw_only=True):
    amount: Decimal
    limit: SizeLimit
    pct: float


def _caps(account: float, notional_cap_pct: float, cfg: RiskConfig) -> _Caps:
    """The tighter of the per-plan notional cap and the account's buying power."""
    if notional_cap_pct <= cfg.max_notional_pct:
        return _Caps(amount=_dec(account) * _dec(notional_cap_pct) / 100, limit="notional cap",
                     pct=notional_cap_pct)
    return _Caps(amount=_dec(account) * _dec(cfg.max_notional_pct) / 100, limit="buying power",
                 pct=cfg.max_notional_pct)


def _size(
    *, account: float, risk_pct: float, entry_price: float, entry_high: float,
    stop_worst: float, tier: SizeTier, tier_reason: str, notional_cap_pct: float, symbol: str,
    asset_class: AssetClass, cfg: RiskConfig,
) -> Sized | SizingRefusal:
    budget = risk_budget(account, risk_pct)
    per_unit = abs(_dec(entry_price) - _dec(stop_worst))
    if per_unit == 0:
        return SizingRefusal(reason="Stop distance is zero: the stop sits at the entry")
    step = quantity_step(symbol, asset_class, cfg)
    allowed = budget * FRACTION[tier]
    by_risk = _floor(allowed / per_unit, step)
    if by_risk * per_unit > allowed:  # the division rounded up at the last digit
        by_risk -= step
    caps = _caps(account, notional_cap_pct, cfg)
    by_cost = _floor(caps.amount / _dec(max(entry_high, entry_price)), step)
    quantity = min(by_risk, by_cost)
    unit = unit_of(asset_class)
    if quantity <= 0:
        return SizingRefusal(reason=_zero_reason(by_risk <= by_cost, unit, tier, allowed, step,
                                                 per_unit, caps, entry_price))
    max_risk = (quantity * per_unit).quantize(_CENT, rounding=ROUND_CEILING)
    cost = (quantity * _dec(entry_price)).quantize(_CENT, rounding=ROUND_HALF_UP)
    limit: SizeLimit = caps.limit if by_cost < by_risk else "risk budget"
    note = None
    if limit != "risk budget":
        note = (f"{CAP_NOTE} {limit}: {quantity.normalize():f} {unit} at "
                f"{fmt_price(entry_price)} cost {fmt_money(float(cost))}, within "
                f"{caps.pct:g}% of the {fmt_money(account)} account, and risk "
                f"{fmt_money(float(max_risk))} at the stop; the {tier} risk budget of "
                f"{fmt_money(float(allowed))} alone would buy {by_risk.normalize():f}")
    reason = tier_reason + (f"; quantity set by the {limit}" if note else "")
    return Sized(position=PositionPlan(
        size=tier, quantity=float(quantity), unit=unit, total_cost=float(cost),
        max_risk=float(max_risk), risk_budget=float(budget), risk_pct=risk_pct,
        stop_distance=float(per_unit), entry_price=entry_price, size_limit=limit,
        size_reason=reason), cap_note=note)


def _zero_reason(
    by_risk: bool, unit: Unit, tier: SizeTier, allowed: Decimal, step: Decimal,
    per_unit: Decimal, caps: _Caps, entry: float,
) -> str:
    """Which limit rounded the position to nothing, with the numbers that did it."""
    if by_risk:
        return (f"Position rounds to zero {unit}: the {tier} risk budget of "
                f"{fmt_money(float(allowed))} buys less than one step ({step.normalize()}) "
                f"at a stop distance of {fmt_delta(float(per_unit), entry)}")
    return (f"Position rounds to zero {unit}: the {caps.limit} of "
            f"{fmt_money(float(caps.amount))} ({caps.pct:g}% of the account) buys less than one "
            f"step ({step.normalize()}) at {fmt_price(entry)}")
