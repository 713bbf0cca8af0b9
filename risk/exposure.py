"""Worst-case exposure: positions plus every allowed order that may still fill.

An open order may fill or not, so the exposure of a symbol is taken at the
worst of the two extremes: all open buys filled, or all open sells filled. No
subset of fills can end further from zero, so a limit that holds for the worst
case holds whatever the exchange does.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from risk.money import ZERO
from risk.state import OpenOrder, PositionState


class Pending(NamedTuple):
    """Open (allowed, unfilled, unexpired) quantity on each side of one symbol."""

    buys: Decimal = ZERO
    sells: Decimal = ZERO


def is_live(order: OpenOrder, now: float, ttl_s: float) -> bool:
    """An allowed order stops reserving exposure ``ttl_s`` after it was allowed."""
    return now - order.ts < ttl_s


def pending_by_symbol(open_orders: Mapping[str, OpenOrder], now: float,
                      ttl_s: float) -> dict[str, Pending]:
    buys: dict[str, Decimal] = {}
    sells: dict[str, Decimal] = {}
    for order in open_orders.values():
        if now - order.ts < ttl_s:  # is_live, inlined: this loop runs on every order
            side = buys if order.side == "buy" else sells
            side[order.symbol] = side.get(order.symbol, ZERO) + order.qty
    return {s: Pending(buys.get(s, ZERO), sells.get(s, ZERO)) for s in buys.keys() | sells}


def worst_qty(qty: Decimal, pending: Pending) -> Decimal:
    """The largest absolute position any set of fills of the open orders can reach."""
    return max(abs(qty + pending.buys), abs(qty - pending.sells))


def worst_by_symbol(positions: Mapping[str, PositionState],
                    pending: Mapping[str, Pending]) -> dict[str, Decimal]:
    """Worst-case absolute quantity of every symbol held or with open orders."""
    symbols = {s for s, p in positions.items() if p.qty} | set(pending)
    return {
        s: worst_qty(positions[s].qty if s in positions else ZERO, pending.get(s, Pending()))
        for s in symbols
    }


def gross_notional(worst: Mapping[str, Decimal], prices: Mapping[str, Decimal | None]
                   ) -> tuple[Decimal, str | None]:
    """Sum of worst-case notionals, and the first symbol that could not be valued.

    A symbol with exposure but no price makes the total unknown: the caller
    fails closed on it rather than counting it as zero.
    """
    total = ZERO
    for symbol in sorted(worst):
        amount = worst[symbol]
        if not amount:
            continue
        price = prices.get(symbol)
        if price is None:
            return total, symbol
        total += amount * price
    return total, None
