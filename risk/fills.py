"""Facts that move the ledger between heartbeats: fills, and marks from a tick feed."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import msgspec

from bus.protocol import Fill
from risk.breakers import check_limits
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
    if not _bookable(fill):
        events.append(RiskAnomalyDetected(kind="invalid_fill", ts=now, detail=(
            f"fill {fill.request_id!r} refused: side {fill.side!r}, qty {fill.qty!r}, "
            f"price {fill.price!r}, fee {fill.fee!r}")[:1000]))
        return state, events
    size = dec(fill.qty)
    booked = fill_position(state.positions.get(fill.symbol, PositionState()), fill.side, size,
                           dec(fill.price), dec(fill.fee))
    positions = dict(state.positions)
    positions[fill.symbol] = booked.position
    streak = state.consecutive_losses
    if booked.closed_trade_pnl is not None:
        streak = streak + 1 if booked.closed_trade_pnl < 0 else 0
    with localcontext(EXACT):
        cash = None if state.cash is None else state.cash + booked.cash_delta
        realized = state.realized_pnl + booked.cash_delta
    state = msgspec.structs.replace(
        state, positions=positions, consecutive_losses=streak, cash=cash, realized_pnl=realized,
        open_orders=_release(state, fill.request_id, size))
    state, more = check_limits(state, limits, now)
    return state, events + more


def _bookable(fill: Fill) -> bool:
    return (is_positive_finite(fill.qty) and is_positive_finite(fill.price)
            and isinstance(fill.fee, (int, float)) and math.isfinite(fill.fee)
            and fill.side in ("buy", "sell") and isinstance(fill.symbol, str)
            and 0 < len(fill.symbol) <= 64)


def _release(state: RiskState, request_id: str, size: Decimal) -> dict[str, OpenOrder]:
    """A fill frees the notional its order reserved; the order ends when fully filled."""
    order = state.open_orders.get(request_id)
    if order is None:
        return state.open_orders
    orders = dict(state.open_orders)
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
