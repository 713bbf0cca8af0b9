"""Rules about the request itself and about the facts the engine must have.

Each rule takes an ``OrderContext`` and returns a denial, or None to pass the
order on to the next rule; ``risk.engine`` runs them in a fixed order. These
rules fail closed: a fact that is missing (equity, a mark, a fresh tick) is a
denial that names the fact, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

import msgspec

from bus.protocol import OrderRequest
from risk.days import day_of, day_span
from risk.decision import Decision, allow, deny
from risk.exposure import reducing
from risk.ledger import signed
from risk.limits import RiskLimits
from risk.measures import first_reached
from risk.money import ZERO, dec, qty
from risk.reasons import describe
from risk.state import OpenOrder, PositionState, RiskState

_MAX_PRICE = 1e15
_INF = float("inf")
_T = TypeVar("_T")
_CLOSE_HINT = "only reduce_only orders that shrink a position are allowed"


class _once(Generic[_T]):  # a decorator: lower case, like ``property``
    """``functools.cached_property`` without its lock, which on Python 3.11 costs
    more than the equity it caches; a context lives within one call, one thread."""

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, ctx: None, owner: type) -> _once[_T]: ...
    @overload
    def __get__(self, ctx: object, owner: type) -> _T: ...

    def __get__(self, ctx: object, owner: type) -> _T | _once[_T]:
        if ctx is None:
            return self
        value = ctx.__dict__[self.name] = self.compute(ctx)  # shadows this descriptor
        return value


class OrderContext(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """An opening order with the exact numbers every rule needs, computed once.

    The costly derived values are cached (``dict=True`` gives them a place to
    live): each is worked out at most once per order, and only when a rule first
    needs it, so a broken fact still fails at the same rule as it would if every
    rule computed its own.
    """

    order: OrderRequest
    state: RiskState
    limits: RiskLimits
    now: float
    qty: Decimal
    price: Decimal
    multiplier: Decimal
    position: PositionState

    @property
    def mark(self) -> Decimal | None:
        return self.position.mark_price

    @_once
    def equity(self) -> Decimal | None:
        """``RiskState.equity``: the equity, loss and leverage rules all need it."""
        return self.state.equity

    @property
    def value_price(self) -> Decimal:
        """The higher of the mark and the order price: a mispriced order cannot
        slip under a notional limit by quoting low."""
        mark = self.position.mark_price
        price = self.price
        return mark if mark is not None and mark > price else price  # max(), spelled out

    @_once
    def live(self) -> dict[str, OpenOrder]:
        """The allowed orders still reserving exposure, in a dict that only this
        context holds: with this order added, the new state's ``open_orders``.

        ``dict.copy``, not ``dict(...)``: a dict an ended order was deleted from has
        holes, and only ``copy`` clones such a table whole (a fifth of the time at 64
        orders); the entries and their order are the same."""
        return self.state.open_orders.copy()


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _not_text(name: str, text: object) -> Decision:
    return deny("invalid_request", f"{name} must be 1 to 128 characters, got {text!r}")


def _not_a_size(name: str, value: object) -> Decision:
    return deny("invalid_request",
                f"{name} must be a positive finite number below 1e15, got {value!r}")


def check_request(order: OrderRequest, now: float) -> Decision | None:
    """Bounds the decoder enforces, checked again: a Struct built in code skips them.

    Every order passes here, so each number is tested for ``float`` (what the
    decoder gives) before the call that also admits ints; no loops either.
    """
    if not ((type(now) is float or _number(now)) and 0 <= now < _INF):
        return deny("invalid_request", f"the decision time {now!r} is not a finite timestamp")
    qty, price, leverage = order.qty, order.price, order.leverage
    if not ((type(qty) is float or _number(qty)) and 0 < qty < _MAX_PRICE):
        return _not_a_size("qty", qty)
    if not ((type(price) is float or _number(price)) and 0 < price < _MAX_PRICE):
        return _not_a_size("price", price)
    if not ((type(leverage) is float or _number(leverage)) and 1 <= leverage <= 1000):
        return deny("invalid_request", f"leverage must be between 1 and 1000, got {leverage!r}")
    if order.side not in ("buy", "sell"):
        return deny("invalid_request", f"side must be buy or sell, got {order.side!r}")
    request_id, symbol, bot_id = order.request_id, order.symbol, order.bot_id
    if not (isinstance(request_id, str) and 0 < len(request_id) <= 128):
        return _not_text("request_id", request_id)
    if not (isinstance(symbol, str) and 0 < len(symbol) <= 128):
        return _not_text("symbol", symbol)
    if not (isinstance(bot_id, str) and 0 < len(bot_id) <= 128):
        return _not_text("bot_id", bot_id)
    if not isinstance(order.reduce_only, bool):
        return deny("invalid_request",
                    f"reduce_only must be true or false, got {order.reduce_only!r}")
    return None


def check_reduce_only(order: OrderRequest, state: RiskState) -> Decision:
    """A reduce_only order passes if, and only if, it shrinks the ledger position
    without crossing zero, counting the reduce-only orders still pending on it as
    done; no size, notional, rate or state limit applies."""
    pos = state.positions.get(order.symbol)
    size = dec(order.qty)
    what = f"reduce_only {order.side} {qty(size)} {order.symbol}"
    if pos is None and state.reconciliation.mode == "adopt":
        return deny("no_position", f"{what}: no position is known yet (no heartbeat has "
                    "reported the bot's positions)")
    held = pos.qty if pos is not None else ZERO
    if held == 0:
        return deny("reduce_only_invalid", f"{what}: there is no {order.symbol} position "
                    "to reduce")
    pending = reducing(state.open_orders, order.symbol, held) if state.open_orders else ZERO
    if pending and (held > 0) != (order.side == "buy") and size > abs(held) - pending:
        left = abs(held) - pending
        return deny("reduce_only_exceeds_position", f"{what}: of the {qty(held)} position, "
                    f"{qty(pending)} is already pending in reduce_only orders, so at most "
                    f"{qty(left if left > 0 else ZERO)} is left to reduce")
    after = held + signed(order.side, size)
    if after != 0 and (after > 0) != (held > 0):
        return deny("reduce_only_invalid", f"{what} would flip the position from "
                    f"{qty(held)} to {qty(after)}; at most {qty(abs(held))} can be reduced")
    if abs(after) >= abs(held):
        return deny("reduce_only_invalid", f"{what} would grow the position from "
                    f"{qty(held)} to {qty(after)}")
    return allow(f"{what} shrinks the position from {qty(held)} to {qty(after)}")


def check_trading_state(ctx: OrderContext) -> Decision | None:
    """HALTED and REDUCING refuse every opening order, with the reasons in force."""
    state = ctx.state.trading_state
    if state == "HALTED":
        return deny("halted", f"trading is HALTED ({describe(ctx.state)}); {_CLOSE_HINT}")
    if state == "REDUCING":
        return deny("reducing_only",
                    f"trading is REDUCING ({describe(ctx.state)}); {_CLOSE_HINT}")
    return None


def check_symbol(ctx: OrderContext) -> Decision | None:
    symbol = ctx.order.symbol
    if symbol in ctx.limits.symbols:
        return None
    allowed = ", ".join(sorted(ctx.limits.symbols)) or "none"
    return deny("symbol_not_allowed",
                f"symbol {symbol} is not in the symbols allow-list (allowed: {allowed})")


def check_equity(ctx: OrderContext) -> Decision | None:
    """No equity, or no start-of-day equity for today, means no loss limit can be checked."""
    state = ctx.state
    equity = ctx.equity
    if equity is None:
        return deny("no_equity", "no equity is known yet: no heartbeat has reported the "
                    "bot's account")
    if equity <= ZERO:  # a Decimal, not the int 0: no conversion on every order
        return deny("no_equity", f"equity {qty(equity)} USDT is not positive")
    if state.start_equity is not None:
        span = _span_of(state, ctx.limits)
        if span is not None and span[0] <= ctx.now < span[1]:
            return None  # ``day_of(now)`` is ``state.day``: no date to work out
    today = day_of(ctx.now, ctx.limits.utc_offset_s)
    if state.start_equity is None or state.day != today:
        return deny("no_equity", f"no start-of-day equity for {today} yet (it is set by "
                    "the first heartbeat of the day)")
    return None


def _span_of(state: RiskState, limits: RiskLimits) -> tuple[float, float] | None:
    """``day_span`` of the state's day, kept beside the state with the limits it
    was worked out for (``_day``; carried like the other figures)."""
    kept = state.__dict__.get("_day")
    if kept is not None and kept[0] is limits and kept[1] is state.day:
        return kept[2]  # type: ignore[no-any-return]
    span = day_span(state.day, limits.utc_offset_s)
    state.__dict__["_day"] = (limits, state.day, span)
    return span


def check_mark(ctx: OrderContext) -> Decision | None:
    if ctx.position.mark_price is not None:  # ctx.mark, without a property call
        return None
    return deny("no_mark_price", f"no mark price for {ctx.order.symbol} yet (the heartbeat "
                "lists marks in `positions`; a flat symbol is listed with qty 0)")


def check_feed(ctx: OrderContext) -> Decision | None:
    """The mark is only as good as the tick behind it."""
    tick_ts = ctx.position.mark_ts
    symbol = ctx.order.symbol
    if tick_ts is None:
        return deny("stale_feed", f"no tick time is known for {symbol} (the heartbeat "
                    "carried no last_tick_ts)")
    age = ctx.now - tick_ts
    if age > ctx.limits.stale_tick_s:
        return deny("stale_feed", f"the last {symbol} tick is {age:.1f} s old, over "
                    f"stale_tick_s {ctx.limits.stale_tick_s:g} s")
    return None


def check_losses(ctx: OrderContext) -> Decision | None:
    """Deny at a reached loss limit even before the auto-halt has been applied.

    The answer depends on the limits, the equity, the three bases and the loss
    streak only, which orders do not change: it is kept beside the state with
    those (``_losses``; the state's own objects, compared by identity) and carried
    to the next state (``risk.state.carry_figures``), so the same figures are not
    worked out again for every order."""
    state, limits, equity = ctx.state, ctx.limits, ctx.equity
    start, high, peak, streak = (state.start_equity, state.high_water, state.peak,
                                 state.consecutive_losses)
    kept = state.__dict__.get("_losses")
    if (kept is not None and kept[0] is limits and kept[1] is equity and kept[2] is start
            and kept[3] is high and kept[4] is peak and kept[5] == streak):
        return kept[6]  # type: ignore[no-any-return]
    found = _losses_reached(state, limits, equity)
    state.__dict__["_losses"] = (limits, equity, start, high, peak, streak, found)
    return found


def _losses_reached(state: RiskState, limits: RiskLimits,
                    equity: Decimal | None) -> Decision | None:
    reached = first_reached(state, limits, equity)
    if reached is not None:
        return deny(reached.code, reached.reason)
    streak, most = state.consecutive_losses, limits.max_consecutive_losses
    if streak >= most:
        return deny("consecutive_losses", f"{streak} consecutive losing trades have reached "
                    f"max_consecutive_losses {most}")
    return None
