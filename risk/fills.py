"""Facts that move the ledger between heartbeats: fills, and marks from a tick feed."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import msgspec

from bus.protocol import Fill
from risk.breakers import check_limits
from risk.exposure import carry_pending
from risk.ledger import apply_fill as fill_position
from risk.lifecycle import Step, roll_day
from risk.limits import RiskLimits
from risk.messages import RiskAnomalyDetected
from risk.money import EXACT, dec, is_positive_finite
from risk.state import OpenOrder, PositionState, RiskState


def apply_fill(state: RiskState, fill: Fill, limits: RiskLimits, now: float) -> Step:
    """Book one execution: position, realised PnL (fees included), the loss streak,
    and the release of the order's reservation; then run the auto-halt check.

    A trade is a round trip from flat to flat (or to a flip); one that closes
    below zero, fees included, extends the streak and any other resets it.
    A fill with an impossible number is refused with an anomaly, not booked.
    """
    state, events = roll_day(state, limits, now)
    booked = book_fill(state, fill, limits)
    if booked is None:
        events.append(RiskAnomalyDetected(kind="invalid_fill", ts=now, detail=(
            f"fill {fill.request_id!r} refused: side {fill.side!r}, qty {fill.qty!r}, "
            f"price {fill.price!r}, fee {fill.fee!r}")[:1000]))
        return state, events
    state, more = check_limits(booked, limits, now)
    return state, events + more


def book_fill(state: RiskState, fill: Fill, limits: RiskLimits) -> RiskState | None:
    """The ledger after one execution, and its order's reservation released by as
    much; None when the fill carries an impossible number and cannot be booked."""
    if not _bookable(fill):
        return None
    size = dec(fill.qty)
    booked = fill_position(state.positions.get(fill.symbol, PositionState()), fill.side, size,
                           dec(fill.price), dec(fill.fee), limits.price_step(fill.symbol))
    positions = dict(state.positions)
    positions[fill.symbol] = booked.position
    streak = state.consecutive_losses
    if booked.closed_trade_pnl is not None:
        streak = streak + 1 if booked.closed_trade_pnl < 0 else 0
    with localcontext(EXACT):
        cash = None if state.cash is None else state.cash + booked.cash_delta
        realized = state.realized_pnl + booked.cash_delta
    after = msgspec.structs.replace(
        state, positions=positions, consecutive_losses=streak, cash=cash, realized_pnl=realized,
        open_orders=_release(state, fill.request_id, size))
    order = state.open_orders.get(fill.request_id)
    if order is None:
        return after
    return carry_pending(state, after, order.symbol, order.side, -min(size, order.qty))


def _bookable(fill: Fill) -> bool:
    return (is_positive_finite(fill.qty) and is_positive_finite(fill.price)
            and isinstance(fill.fee, (int, float)) and math.isfinite(fill.fee)
            and fill.side in ("buy", "sell") and isinstance(fill.symbol, str)
            and 0 < len(fill.symbol) <= 64)


def _release(state: RiskState, request_id: str, size: Decimal) -> dict[str, OpenOrder]:
    """A fill frees as much of its order's reservation; the order ends when all of
    it is filled (or, once ended by an ``order_update``, when the fills the venue
    made are all reported)."""
    order = state.open_orders.get(request_id)
    if order is None:
        return state.open_orders
    orders = state.open_orders.copy()
    left = order.qty - size
    if left > 0:
        orders[request_id] = msgspec.structs.replace(order, qty=left)
    else:
        del orders[request_id]
    return orders


def apply_mark(state: RiskState, symbol: str, price: float, tick_ts: float) -> RiskState:
    """Take a mark from a tick source other than the heartbeat; a bad price is ignored."""
    if not is_positive_finite(price):
        return state
    positions = dict(state.positions)
    pos = positions.get(symbol, PositionState())
    positions[symbol] = msgspec.structs.replace(pos, mark_price=dec(price), mark_ts=tick_ts)
    last = tick_ts if state.last_tick_ts is None else max(tick_ts, state.last_tick_ts)
    return msgspec.structs.replace(state, positions=positions, last_tick_ts=last)
