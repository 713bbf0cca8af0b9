"""Size, price, rate and exposure rules for opening orders.

The standard pre-trade controls: the order's own leverage, fat-finger caps on
one order, a price collar against the mark, a cap on open orders, a per-bot
order-rate throttle, and last the exposure limits that look at the whole book:
notional per symbol and gross leverage, both after this order and every other
allowed order that may still fill. ``risk_multiplier`` scales every size limit.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import TypeAlias

from risk.decision import Decision, allow, deny
from risk.exposure import NOTHING_PENDING, gross_notional, pending_of, worst_qty
from risk.limits import RiskLimits
from risk.money import HUNDRED, ONE, ZERO, dec, pct, qty, ratio, usdt
from risk.rules import OrderContext
from risk.state import RiskState, TokenBucket


def scaled(name: str, limit: Decimal, multiplier: Decimal, unit: str) -> str:
    """``max_order_notional 2500 USDT`` or ``... 2500 USDT x risk_multiplier 0.5 = 1250 USDT``."""
    if multiplier == ONE:
        return f"{name} {qty(limit)}{unit}"
    return (f"{name} {qty(limit)}{unit} x risk_multiplier {qty(multiplier)} = "
            f"{qty(limit * multiplier)}{unit}")


def check_order_leverage(ctx: OrderContext) -> Decision | None:
    """The leverage the bot sets on the exchange is capped like the book's leverage.

    Compared as the numbers that came (floats, or ints), which orders exactly as
    their decimals do (``dec`` is the shortest text that reads back as the same
    float, and reading back is monotonic), so only a denial needs the decimals."""
    if ctx.order.leverage <= ctx.limits.max_leverage:
        return None
    asked, most = dec(ctx.order.leverage), dec(ctx.limits.max_leverage)
    return deny("leverage_limit", f"order leverage {ratio(asked)} is over max_leverage "
                f"{ratio(most)}")


def check_fat_finger(ctx: OrderContext) -> Decision | None:
    """One order may not exceed the per-symbol quantity or the global notional cap."""
    own = ctx.limits.symbols.get(ctx.order.symbol)
    if own is not None and own.max_order_qty is not None and not (
            ctx.state.risk_multiplier == 1.0 and ctx.order.qty <= own.max_order_qty):
        cap = dec(own.max_order_qty)  # x 1 is exact: the floats compare as their decimals
        if ctx.qty > cap * ctx.multiplier:
            limit = scaled(f"{ctx.order.symbol} max_order_qty", cap, ctx.multiplier, "")
            return deny("fat_finger_qty", f"order qty {qty(ctx.qty)} {ctx.order.symbol} "
                        f"is over {limit}")
    notional = ctx.qty * ctx.value_price
    cap = dec(ctx.limits.max_order_notional)
    if notional > cap * ctx.multiplier:
        limit = scaled("max_order_notional", cap, ctx.multiplier, " USDT")
        return deny("fat_finger_notional", f"order notional {usdt(notional)} is over {limit}")
    return None


def check_collar(ctx: OrderContext) -> Decision | None:
    """The order price must sit within ``max_price_deviation_pct`` of the mark."""
    mark = ctx.position.mark_price
    assert mark is not None  # check_mark ran first
    deviation = abs(ctx.price - mark) / mark * HUNDRED
    most = dec(ctx.limits.max_price_deviation_pct)
    if deviation <= most:
        return None
    return deny("price_collar", f"price {qty(ctx.price)} is {pct(deviation)} from the "
                f"{ctx.order.symbol} mark {qty(mark)}, over max_price_deviation_pct {pct(most)}")


def check_open_orders(ctx: OrderContext) -> Decision | None:
    """Bounds the reservations the engine keeps (and so the size of its state)."""
    live = len(ctx.state.open_orders)
    most = ctx.limits.max_open_orders
    if live < most:
        return None
    return deny("open_orders_limit", f"{live} allowed orders are still open, at "
                f"max_open_orders {most} (each frees up when it is filled, or ended by an "
                "order_update: cancelled, rejected, expired)")


def tokens(state: RiskState, bot_id: str, limits: RiskLimits, now: float) -> float:
    """Tokens a bot has now: refilled at ``max_orders_per_second``, one second's worth at most."""
    rate = limits.max_orders_per_second
    capacity = rate if rate > 1.0 else 1.0  # max() and min() spelled out: asked twice an order
    bucket = state.buckets.get(bot_id)
    if bucket is None:
        return capacity
    held, idle = bucket.tokens, now - bucket.ts
    refilled = held + (idle if idle > 0.0 else 0.0) * rate
    return refilled if refilled < capacity else capacity


def spend_token(state: RiskState, bot_id: str, limits: RiskLimits, now: float) -> TokenBucket:
    return TokenBucket(tokens=tokens(state, bot_id, limits, now) - 1.0, ts=now)


def check_rate(ctx: OrderContext) -> Decision | None:
    """Keeps the bot's tokens in the context: recording an ALLOW spends one of them."""
    held = ctx.__dict__["tokens"] = tokens(ctx.state, ctx.order.bot_id, ctx.limits, ctx.now)
    if held >= 1.0:
        return None
    return deny("rate_limit", f"bot {ctx.order.bot_id} is over max_orders_per_second "
                f"{ctx.limits.max_orders_per_second:g}")


def check_exposure(ctx: OrderContext) -> Decision:
    """Per-symbol notional and gross leverage after this order, at the worst case."""
    symbol, mult, price = ctx.order.symbol, ctx.multiplier, ctx.value_price
    pending = dict(pending_of(ctx.state))
    buys, sells = pending.get(symbol, NOTHING_PENDING)
    if ctx.order.side == "buy":
        buys += ctx.qty
    else:
        sells += ctx.qty
    pending[symbol] = (buys, sells)
    ctx.__dict__["pending_after"] = pending  # the sum if allowed: kept with the new state
    amount = worst_qty(ctx.position.qty, pending[symbol])
    notional = amount * price
    cap, symbol_most, most, gross_most, worded = _caps_of(ctx)
    if notional > symbol_most:
        limit = scaled("max_notional_per_symbol", cap, mult, " USDT")
        return deny("notional_limit", f"{symbol} notional would be {usdt(notional)} "
                    f"(position, open orders and this order), over {limit}")
    gross, unpriced = gross_notional(ctx.state.positions, pending, symbol, amount, notional)
    if unpriced is not None:
        return deny("no_mark_price", f"no mark price for {unpriced}, needed to value gross "
                    "exposure")
    equity = ctx.equity
    assert equity is not None and equity > ZERO  # check_equity ran first
    if gross > gross_most * equity:
        limit = scaled("max_leverage", most, mult, "x")
        return deny("leverage_limit", f"gross leverage would be {ratio(gross / equity)} "
                    f"({usdt(gross)} / equity {usdt(equity)}), over {limit}")
    ctx.__dict__["exposure_after"] = (gross, notional)  # for the portfolio (risk.portfolio)
    symbol_cap, leverage_cap = worded
    return allow(f"{symbol} notional {usdt(notional)} within {symbol_cap} USDT; gross "
                 f"leverage {ratio(gross / equity)} within {leverage_cap}")


_Caps: TypeAlias = tuple[Decimal, Decimal, Decimal, Decimal, tuple[str, str]]


def _caps_of(ctx: OrderContext) -> _Caps:
    """The symbol's notional cap and ``max_leverage``, each alone and times the
    multiplier, and the ALLOW's words for them: the same for every order until
    the limits or the multiplier change. Kept beside the state (``_caps``, per
    symbol, for the limits and the multiplier's ``Decimal`` by identity) and
    carried with the other figures."""
    state, limits, mult, symbol = ctx.state, ctx.limits, ctx.multiplier, ctx.order.symbol
    kept = state.__dict__.get("_caps")
    if kept is None or kept[0] is not limits or kept[1] is not mult:
        kept = state.__dict__["_caps"] = (limits, mult, {})
    caps: dict[str, _Caps] = kept[2]
    found = caps.get(symbol)
    if found is None:
        cap, most = limits.symbol_notional_limit(symbol), dec(limits.max_leverage)
        found = caps[symbol] = (cap, cap * mult, most, most * mult, _caps(cap, most, mult))
    return found


@lru_cache(maxsize=256)
def _caps(cap: Decimal, most: Decimal, multiplier: Decimal) -> tuple[str, str]:
    """The scaled caps an ALLOW quotes, worded once: they change only with the
    limits or the multiplier, and wording a Decimal costs more than checking it.
    Equal numbers word alike, so a cache hit for an equal key is the same text."""
    return qty(cap * multiplier), ratio(most * multiplier)
