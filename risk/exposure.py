"""Worst-case exposure: positions plus every allowed order that may still fill.

An open order may fill or not, so the exposure of a symbol is taken at the
worst of the two extremes: all open buys filled, or all open sells filled. No
subset of fills can end further from zero, so a limit that holds for the worst
case holds whatever the exchange does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, TypeAlias

from risk.money import ZERO
from risk.state import OpenOrder, PositionState

Pending: TypeAlias = tuple[Decimal, Decimal]
"""Open (allowed, unfilled, unexpired) quantity of one symbol: (buys, sells).
A plain tuple: a NamedTuple costs a Python-level call to build, per symbol per order."""

NOTHING_PENDING: Final[Pending] = (ZERO, ZERO)


def is_live(order: OpenOrder, now: float, ttl_s: float) -> bool:
    """An allowed order stops reserving exposure ``ttl_s`` after it was allowed."""
    return now - order.ts < ttl_s


def live_orders(open_orders: Mapping[str, OpenOrder], now: float,
                ttl_s: float) -> dict[str, OpenOrder]:
    """The orders still reserving exposure, in their order: a new dict the caller owns."""
    return {k: o for k, o in open_orders.items() if now - o.ts < ttl_s}  # is_live, inlined


def pending_by_symbol(live: Iterable[OpenOrder]) -> dict[str, Pending]:
    """Open quantity per symbol and side of the orders ``live_orders`` kept."""
    pending: dict[str, Pending] = {}
    for order in live:
        buys, sells = pending.get(order.symbol, NOTHING_PENDING)
        if order.side == "buy":
            pending[order.symbol] = (buys + order.qty, sells)
        else:
            pending[order.symbol] = (buys, sells + order.qty)
    return pending


def worst_qty(qty: Decimal, pending: Pending) -> Decimal:
    """The largest absolute position any set of fills of the open orders can reach."""
    buys, sells = pending
    long, short = abs(qty + buys), abs(qty - sells)
    return short if short > long else long  # max(long, short), without the builtin's cost


def gross_notional(positions: Mapping[str, PositionState], pending: Mapping[str, Pending],
                   symbol: str, amount: Decimal, notional: Decimal) -> tuple[Decimal, str | None]:
    """Sum of the worst-case notionals of every symbol held or with open orders, at
    the marks; and the first symbol that could not be valued.

    ``symbol`` comes valued by the caller: its worst-case ``amount`` and its
    ``notional`` at the order's price. Summed in symbol order, so the rounding
    never depends on the order of a dict. A symbol with exposure but no price
    makes the total unknown: the caller fails closed on it rather than counting
    it as zero.
    """
    names = set(pending)
    for name, held in positions.items():
        if held.qty:
            names.add(name)
    total = ZERO
    for name in sorted(names):
        if name == symbol:
            if amount:
                total += notional
            continue
        pos = positions.get(name)
        worst = worst_qty(ZERO if pos is None else pos.qty, pending.get(name, NOTHING_PENDING))
        if not worst:
            continue
        price = None if pos is None else pos.mark_price
        if price is None:
            return total, name
        total += worst * price
    return total, None
