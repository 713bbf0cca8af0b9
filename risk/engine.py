"""The order gate's entry points: ``evaluate`` an order, then ``apply_decision``.

``evaluate`` is a pure read of the state and never raises: anything unexpected
is a DENY with code ``internal_error``. ``apply_decision`` records what the gate
answered (the request id, the rate token, the reserved quantity); ``decide``
does both in one call. The order of the checks is the order of ``_OPENING``
and is documented in ``docs/risk.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

import msgspec

from bus.protocol import OrderRequest
from risk.decision import Decision, deny
from risk.exposure import carry_pending, keep_pending
from risk.limits import RiskLimits
from risk.money import dec
from risk.pretrade import (
    check_collar,
    check_exposure,
    check_fat_finger,
    check_open_orders,
    check_order_leverage,
    check_rate,
    spend_token,
)
from risk.rules import (
    OrderContext,
    check_equity,
    check_feed,
    check_losses,
    check_mark,
    check_reduce_only,
    check_request,
    check_symbol,
    check_trading_state,
)
from risk.state import OpenOrder, PositionState, RiskState, TokenBucket, carry_figures

_OPENING: Final[tuple[Callable[[OrderContext], Decision | None], ...]] = (
    check_trading_state,
    check_symbol,
    check_equity,
    check_mark,
    check_feed,
    check_losses,
    check_order_leverage,
    check_fat_finger,
    check_collar,
    check_open_orders,
    check_rate,
)
"""Rules for orders that may open exposure, cheapest and most telling first;
``check_exposure`` ends the chain and gives the ALLOW."""

BUCKETS_MAX: Final = 16
"""Rate buckets an engine keeps, one per bot id it allowed an opening order for. The
gateway binds a link to one id, so an engine sees one id (a fleet) or the ids of the
one-bot shorthand's successive hellos; beyond this many the least recent is forgotten."""
_FLAT: Final = PositionState()
"""The position of a symbol never held (immutable, so one instance serves all)."""


def evaluate(order: OrderRequest, state: RiskState, limits: RiskLimits, now: float) -> Decision:
    """ALLOW or DENY one order request; never raises, fails closed."""
    return _evaluate_closed(order, state, limits, now)[0]


def _evaluate_closed(order: OrderRequest, state: RiskState, limits: RiskLimits,
                     now: float) -> tuple[Decision, OrderContext | None]:
    """``evaluate``, with the context of an opening order for ``decide`` to reuse."""
    try:
        return _evaluate(order, state, limits, now)
    except Exception as exc:  # fail closed on anything unexpected, whatever it is
        return _failed(exc), None


def _failed(exc: Exception) -> Decision:
    return deny("internal_error", f"the risk check failed unexpectedly "
                f"({type(exc).__name__}: {exc}); the order is denied to stay safe"[:1000])


def _evaluate(order: OrderRequest, state: RiskState, limits: RiskLimits,
              now: float) -> tuple[Decision, OrderContext | None]:
    invalid = check_request(order, now)
    if invalid is not None:
        return invalid, None
    if order.request_id in state.request_ids or order.request_id in state.open_orders:
        return deny("duplicate_request", f"request_id {order.request_id} was already used by "
                    "a recent order, or by one still open; send each order with a new id"), None
    if order.reduce_only:
        return check_reduce_only(order, state), None
    ctx = OrderContext(order=order, state=state, limits=limits, now=now, qty=dec(order.qty),
                       price=dec(order.price), multiplier=dec(state.risk_multiplier),
                       position=state.positions.get(order.symbol, _FLAT))
    for rule in _OPENING:
        found = rule(ctx)
        if found is not None:
            return found, ctx
    return check_exposure(ctx), ctx


def apply_decision(state: RiskState, order: OrderRequest, decision: Decision,
                   limits: RiskLimits, now: float) -> RiskState:
    """Record an answered request: its id always; for an allowed order, a
    reservation of its quantity until it is filled or ended (``order_update``),
    and for an allowed opening order also a rate token."""
    return _record(state, order, decision, limits, now, None)


def _record(state: RiskState, order: OrderRequest, decision: Decision, limits: RiskLimits,
            now: float, ctx: OrderContext | None) -> RiskState:
    """``apply_decision``; ``ctx``, when the rules left one, gives up its copy of
    the open orders (a dict that only it holds) to be the new ``open_orders``."""
    if not isinstance(order.request_id, str) or decision.code == "duplicate_request":
        return state
    ids = state.request_ids.add(order.request_id, limits.remember_request_ids)
    if not decision.allowed:
        return carry_figures(state, msgspec.structs.replace(state, request_ids=ids))
    if ctx is None:
        orders, size, price = state.open_orders.copy(), dec(order.qty), dec(order.price)
    else:  # the context's numbers are the same decimals (``dec`` of the same floats)
        orders, size, price = ctx.live, ctx.qty, ctx.price
    orders[order.request_id] = OpenOrder(symbol=order.symbol, side=order.side, qty=size,
                                         price=price, ts=now, reduce_only=order.reduce_only)
    if order.reduce_only:  # closing spends no rate token: it must always be possible
        after = msgspec.structs.replace(state, request_ids=ids, open_orders=orders)
        return carry_pending(state, after, order.symbol, order.side, size)
    buckets = state.buckets.copy()
    buckets.pop(order.bot_id, None)  # re-inserted last: the dict's order is recency
    held = None if ctx is None else ctx.__dict__.get("tokens")  # check_rate's count
    buckets[order.bot_id] = (spend_token(state, order.bot_id, limits, now) if held is None
                             else TokenBucket(tokens=held - 1.0, ts=now))
    while len(buckets) > BUCKETS_MAX:
        del buckets[next(iter(buckets))]
    after = msgspec.structs.replace(state, request_ids=ids, open_orders=orders, buckets=buckets)
    summed = None if ctx is None else ctx.__dict__.get("pending_after")
    if summed is not None:  # check_exposure summed the orders with this one
        return keep_pending(carry_figures(state, after), summed)
    return carry_pending(state, after, order.symbol, order.side, size)


Veto: TypeAlias = Callable[[OrderContext], Decision | None]
"""A further check of an allowed opening order (the portfolio's, ``risk.portfolio``)."""


def decide(order: OrderRequest, state: RiskState, limits: RiskLimits, now: float,
           veto: Veto | None = None) -> tuple[Decision, RiskState]:
    """``evaluate`` then ``apply_decision``: what the gate calls for each request.

    ``veto`` may turn an allowed opening order into a DENY before it is recorded (a
    reduce-only order is never vetoed: closing must always be possible). Recording
    can only fail on a state the rules already refused to trust; then the answer
    turns into a DENY and the state is left as it was.
    """
    try:  # ``_evaluate_closed``, spelled out: one call less on every order
        decision, ctx = _evaluate(order, state, limits, now)
    except Exception as exc:  # fail closed on anything unexpected, whatever it is
        decision, ctx = _failed(exc), None
    if veto is not None and ctx is not None and decision.allowed:
        try:
            decision = veto(ctx) or decision
        except Exception as exc:  # fail closed, as the rules do
            decision = deny("internal_error", f"the portfolio check failed unexpectedly "
                            f"({type(exc).__name__}); the order is denied to stay safe")
    try:
        return decision, _record(state, order, decision, limits, now, ctx)
    except Exception as exc:  # fail closed: an allowed order that was not recorded is denied
        return deny("internal_error", f"recording the decision failed "
                    f"({type(exc).__name__}); the order is denied to stay safe"), state
