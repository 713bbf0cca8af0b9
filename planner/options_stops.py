"""Option stops where "stock level is king", and how many contracts the budget buys.

The stop is a stock level from structure (the stock plan's stop), never a
premium percentage: the premium stop follows from it to first order,
``premium change = stock change × delta`` and ``premium stop = entry premium −
premium change``. SWING takes a few days of theta off the premium stop so that
time decay alone does not trigger it. The stock stop keeps a gap of at least
``min_gap_atr`` × ATR from the entry zone, moved away from it when it is closer
(``stop_auto_shifted``). Premiums are projected from the ask at the current
stock price, so the entry premium is what one pays when the stock trades
through the entry zone, and rounding always errs toward more risk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from planner.contracts import OptionContract
from planner.options_config import SizingConfig
from planner.parts import EntryZone, Range, SizeLimit, TradeDirection
from planner.prices import ceil_to, floor_to

PREMIUM_TICK = 0.01


class StockStop(msgspec.Struct, frozen=True, kw_only=True):
    price_range: Range
    shifted: bool
    moved_from: float | None = None
    """The near edge before the shift, when the stop was moved away from the entry zone."""

    def near(self, direction: TradeDirection) -> float:
        """The edge the stock crosses first: the top of a LONG stop, the bottom of a SHORT one."""
        return self.price_range.high if direction == "LONG" else self.price_range.low


def stock_stop(direction: TradeDirection, zone: EntryZone, stop: Range, atr: float,
               min_gap_atr: float, tick: float) -> StockStop | None:
    """The stock stop at least ``min_gap_atr`` ATR beyond the entry zone; None if that is ≤ 0."""
    gap = min_gap_atr * atr
    if direction == "LONG":
        limit = zone.low - gap
        if stop.high <= limit:
            return StockStop(price_range=stop, shifted=False)
        shift = stop.high - limit
        moved = Range(low=floor_to(stop.low - shift, tick), high=floor_to(limit, tick))
        if moved.low <= 0:
            return None
        return StockStop(price_range=moved, shifted=True, moved_from=stop.high)
    limit = zone.high + gap
    if stop.low >= limit:
        return StockStop(price_range=stop, shifted=False)
    shift = limit - stop.low
    moved = Range(low=ceil_to(limit, tick), high=ceil_to(stop.high + shift, tick))
    return StockStop(price_range=moved, shifted=True, moved_from=stop.low)


class PremiumPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Entry and stop in premium per share, and the dollars at risk per contract."""

    entry: Range
    stop: Range
    risk_per_contract: float
    delta: float
    """|delta| used: the contract's own, or the assumed one when greeks are missing."""
    delta_assumed: bool
    theta_buffer: float
    """Premium taken off the stop for time decay (days × |theta|)."""
    stock_move: float
    """Stock distance from the worst entry to the far edge of the stop."""


def premium_plan(contract: OptionContract, *, zone: EntryZone, stop: StockStop, spot: float,
                 theta_days: int, assumed_delta: float) -> PremiumPlan:
    """The premium levels that follow from the stock levels; needs a positive ask.

    Every level is today's ask moved by ``stock change × delta`` (the seed's first
    order), so entry, stop and targets agree with each other. The position's one
    entry price is the premium at the worst stock fill (``entry.high``): the cost is
    counted at it, and the loss per share is the move from the worst entry to the
    far edge of the stop at that delta plus the theta buffer, but never more than
    that premium: a long option cannot lose more than it cost.
    """
    ask = contract.ask or 0.0
    sign = 1.0 if contract.contract_type != "put" else -1.0  # a call holds a LONG view
    delta = min(1.0, abs(contract.delta)) if contract.delta is not None else assumed_delta

    def at(stock: float) -> float:
        return ask + (stock - spot) * sign * delta

    buffer = _cents_up(theta_days * abs(contract.theta)) if contract.theta is not None else 0.0
    entry = Range(low=_up(min(at(zone.low), at(zone.high))),
                  high=_up(max(at(zone.low), at(zone.high))))
    low, high = sorted((at(stop.price_range.low), at(stop.price_range.high)))
    stop_high = min(_down(high - buffer), _down(entry.low - PREMIUM_TICK))
    premium_stop = Range(low=min(_down(low - buffer), stop_high), high=stop_high)
    worst_entry = zone.high if sign > 0 else zone.low
    far_stop = stop.price_range.low if sign > 0 else stop.price_range.high
    move = abs(worst_entry - far_stop)
    per_share = min(max(entry.high - premium_stop.low, delta * move + buffer), entry.high)
    return PremiumPlan(
        entry=entry, stop=premium_stop,
        risk_per_contract=_cents_up(per_share * contract.shares_per_contract),
        delta=delta, delta_assumed=contract.delta is None, theta_buffer=buffer,
        stock_move=move)


def premium_targets(contract: OptionContract, targets: Sequence[Range],
                    spot: float) -> list[Range]:
    """The premium at each stock target, to first order; none without greeks (a guess)."""
    if contract.delta is None:
        return []
    ask, delta = contract.ask or 0.0, min(1.0, abs(contract.delta))
    sign = 1.0 if contract.contract_type != "put" else -1.0
    out = []
    for target in targets:
        a, b = (ask + (s - spot) * sign * delta for s in (target.low, target.high))
        out.append(Range(low=_down(min(a, b), PREMIUM_TICK), high=_down(max(a, b), PREMIUM_TICK)))
    return out


def _cents_up(value: float) -> float:
    """Up to the cent, ignoring float noise below a millionth of a cent (Decimal is too slow
    for every contract of a 50,000-contract chain)."""
    return math.ceil(round(value * 100, 6)) / 100


def _cents_down(value: float) -> float:
    return math.floor(round(value * 100, 6)) / 100


def _up(value: float) -> float:
    """An entry premium, rounded up to the cent and never below one cent."""
    return max(PREMIUM_TICK, _cents_up(value))


def _down(value: float, floor: float = 0.0) -> float:
    """A stop or target premium, rounded down to the cent and never below ``floor``."""
    return max(floor, _cents_down(value))


def quick_fit(contract: OptionContract, *, zone: EntryZone, stop: StockStop, spot: float,
              theta_days: int, assumed_delta: float, budget: float, account: float,
              cfg: SizingConfig) -> bool:
    """Whether one contract fits, in plain floats: the search asks this of thousands of
    contracts, so it skips the cent rounding that :func:`premium_plan` does for the winner."""
    ask = contract.ask or 0.0
    sign = 1.0 if contract.contract_type != "put" else -1.0
    delta = min(1.0, abs(contract.delta)) if contract.delta is not None else assumed_delta
    worst_entry = zone.high if sign > 0 else zone.low
    far_stop = stop.price_range.low if sign > 0 else stop.price_range.high
    buffer = theta_days * abs(contract.theta) if contract.theta is not None else 0.0
    shares = contract.shares_per_contract
    cost = max(0.01, ask + (worst_entry - spot) * sign * delta) * shares
    risk = min(delta * abs(worst_entry - far_stop) * shares + buffer * shares, cost)
    oi_ok = contract.open_interest is None \
        or contract.open_interest * cfg.max_open_interest_pct / 100 >= 1
    return risk <= budget and cost <= account * cfg.max_premium_pct / 100 and oi_ok


class ContractSize(msgspec.Struct, frozen=True, kw_only=True):
    contracts: int
    max_risk: float
    total_cost: float
    """Contracts × the entry premium at the worst fill (``entry.high``) × shares."""
    limit: SizeLimit
    """Which bound set the count: ``risk budget``, ``premium cap`` or ``open interest``."""


def size_contracts(plan: PremiumPlan, contract: OptionContract, *, budget: float,
                   account: float, cfg: SizingConfig) -> ContractSize | str:
    """The most contracts whose loss at the stop fits ``budget``; or why not even one fits."""
    risk_cents = max(1, round(plan.risk_per_contract * 100))
    per_contract_cost = plan.entry.high * contract.shares_per_contract
    bounds: dict[SizeLimit, int] = {
        "risk budget": math.floor(round(budget * 100, 6)) // risk_cents,
        "premium cap": math.floor(account * cfg.max_premium_pct / 100 / per_contract_cost)}
    if contract.open_interest is not None:
        bounds["open interest"] = math.floor(contract.open_interest
                                             * cfg.max_open_interest_pct / 100)
    limit = min(bounds, key=lambda name: bounds[name])
    count = bounds[limit]
    if count < 1:
        return _why_none(limit, plan, contract, budget, account, cfg)
    return ContractSize(contracts=count, max_risk=count * risk_cents / 100,
                        total_cost=round(count * plan.entry.high * contract.shares_per_contract, 2),
                        limit=limit)


def _why_none(limit: SizeLimit, plan: PremiumPlan, contract: OptionContract, budget: float,
              account: float, cfg: SizingConfig) -> str:
    if limit == "risk budget":
        return (f"one contract risks ${plan.risk_per_contract:,.2f} at the stop, more than the "
                f"${budget:,.2f} budget")
    if limit == "premium cap":
        return (f"one contract costs ${plan.entry.high * contract.shares_per_contract:,.2f}, "
                f"more than {cfg.max_premium_pct:g}% of the ${account:,.2f} account")
    return (f"open interest {contract.open_interest or 0:,.0f} is too thin: "
            f"{cfg.max_open_interest_pct:g}% of it is less than one contract")
