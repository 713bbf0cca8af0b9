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

from bus.protocol import Side
from risk.money import ZERO
from risk.state import OpenOrder, PositionState, RiskState, carry_figures

Pending: TypeAlias = tuple[Decimal, Decimal]
"""Open (allowed, not filled, not ended) quantity of one symbol: (buys, sells).
A plain tuple: a NamedTuple costs a Python-level call to build, per symbol per order."""

NOTHING_PENDING: Final[Pending] = (ZERO, ZERO)


def pending_by_symbol(live: Iterable[OpenOrder]) -> dict[str, Pending]:
    """Open quantity per symbol and side of the orders still reserving.

    Reduce-only orders count too: on a venue that does not enforce reduce-only,
    one that outlives the position it was meant to close opens a new one."""
    pending: dict[str, Pending] = {}
    for order in live:
        buys, sells = pending.get(order.symbol, NOTHING_PENDING)
        if order.side == "buy":
            pending[order.symbol] = (buys + order.qty, sells)
        else:
            pending[order.symbol] = (buys, sells + order.qty)
    return pending


def pending_of(state: RiskState) -> Mapping[str, Pending]:
    """``pending_by_symbol`` of ``state.open_orders``, worked out once per set of
    orders; the caller must not change it (copy it first).

    Kept beside the state (its ``__dict__``: never saved, compared or copied) and
    tied to the identity of the ``open_orders`` dict it was summed from: every
    change of the orders makes a new dict, so a kept sum is never read for other
    orders than its own. The transitions that change one order hand the new state
    the sum adjusted by that order (:func:`carry_pending`), so a decision costs
    about the same with one order open or hundreds.
    """
    kept = state.__dict__.get("_pending")
    orders = state.open_orders
    if kept is not None and kept[0] is orders:
        pending: dict[str, Pending] = kept[1]
        return pending
    pending = pending_by_symbol(orders.values())
    state.__dict__["_pending"] = (orders, pending)
    return pending


def keep_pending(state: RiskState, pending: dict[str, Pending]) -> RiskState:
    """Tie ``pending``, the sum of ``state.open_orders`` worked out by the caller, to
    ``state`` (see :func:`pending_of`); returns ``state``."""
    state.__dict__["_pending"] = (state.open_orders, pending)
    return state


def carry_pending(before: RiskState, after: RiskState, symbol: str, side: Side,
                  change: Decimal) -> RiskState:
    """``after`` with its sum taken from ``before``'s, when ``after``'s open orders are
    ``before``'s with ``symbol``'s ``side`` changed by ``change``; when ``before``
    has no sum kept, ``after`` gets none either (it is summed when asked). The other
    figures kept beside ``before`` are carried too (``risk.state.carry_figures``)."""
    carry_figures(before, after)
    kept = before.__dict__.get("_pending")
    if kept is None or kept[0] is not before.open_orders:
        return after
    pending: dict[str, Pending] = dict(kept[1])
    buys, sells = pending.get(symbol, NOTHING_PENDING)
    pending[symbol] = (buys + change, sells) if side == "buy" else (buys, sells + change)
    return keep_pending(after, pending)


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


def reducing(open_orders: Mapping[str, OpenOrder], symbol: str, held: Decimal) -> Decimal:
    """Quantity of ``symbol``'s pending reduce-only orders that shrink ``held``: its
    sells for a long, its buys for a short (what a new reduce-only order cannot
    reduce again)."""
    side = "sell" if held > 0 else "buy"
    total = ZERO
    for order in open_orders.values():
        if order.reduce_only and order.symbol == symbol and order.side == side:
            total += order.qty
    return total
