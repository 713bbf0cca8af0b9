"""After a restart: what the journal holds beyond the last saved risk state.

The gate saves its state when a durable fact changes, not on every decision
(the hot path stays the pure ``decide``), so after a ``kill -9`` the newest save
may lack the orders allowed since, and the fills and updates that came after it.
The journal has them all, in order: every decision is committed before the bot
hears it, and every fill and update is journaled as it arrives, before the
engine takes it. Replaying them on the saved state gives back the reservations
of those orders (an order allowed just before the kill may still fill) and the
ledger's fills. What a replayed fact would have tripped is left to the first
checks after the restart, which run before any opening order can pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

import msgspec

from bus.protocol import Fill, OrderDecision, OrderRequest, OrderUpdate
from risk.fills import book_fill
from risk.limits import RiskLimits
from risk.money import dec
from risk.orders import apply_order_update
from risk.state import OpenOrder, RiskState

OrderFact: TypeAlias = OrderRequest | OrderDecision | Fill | OrderUpdate
"""A journaled message about an order (topics ``order.*``)."""


def replay(state: RiskState, facts: Iterable[tuple[float, OrderFact]],
           limits: RiskLimits) -> RiskState:
    """``state`` with ``facts`` (journal time, message), journaled after it was saved,
    applied in their order: each decided request is remembered, each allowed one
    reserves as ``decide`` would have, fills are booked, updates applied.

    A decision the state already knows (its request id is remembered or reserved)
    is skipped, so replaying a fact the save had seen cannot reserve twice.
    """
    requests: dict[str, OrderRequest] = {}
    for ts, fact in facts:
        if isinstance(fact, OrderRequest):
            requests[fact.request_id] = fact
        elif isinstance(fact, OrderDecision):
            state = _decided(state, requests.pop(fact.request_id, None), fact, limits, ts)
        elif isinstance(fact, Fill):
            state = book_fill(state, fact, limits) or state
        else:
            state, _ = apply_order_update(state, fact, ts)
    return state


def _decided(state: RiskState, order: OrderRequest | None, decision: OrderDecision,
             limits: RiskLimits, ts: float) -> RiskState:
    request_id = decision.request_id
    if (not request_id or decision.code == "duplicate_request"
            or request_id in state.open_orders or request_id in state.request_ids):
        return state
    ids = state.request_ids.add(request_id, limits.remember_request_ids)
    if decision.verdict != "ALLOW" or order is None:
        return msgspec.structs.replace(state, request_ids=ids)
    orders = dict(state.open_orders)
    orders[request_id] = OpenOrder(symbol=order.symbol, side=order.side, qty=dec(order.qty),
                                   price=dec(order.price), ts=ts, reduce_only=order.reduce_only)
    return msgspec.structs.replace(state, request_ids=ids, open_orders=orders)
