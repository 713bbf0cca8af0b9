"""The engine's own ledger: positions and realised PnL from fills, marks from the bot.

Exposure and PnL are computed here from facts (fills and marks) rather than
taken from the bot's self-reported numbers; the bot's view is only compared
with the ledger (``mismatches``) and adopted where the ledger cannot know better
(the first heartbeat ever, or a disagreement a person must look at).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, localcontext

import msgspec

from bus.protocol import Position, Side
from risk.money import EXACT, HUNDRED, PRICE_STEP, ZERO, at_step, dec, finest, money
from risk.state import PositionState, open_pnl


class FillResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one fill did to a position: the new position, the cash it moved, and
    the PnL of the round trip it closed (None when no trade closed)."""

    position: PositionState
    cash_delta: Decimal
    closed_trade_pnl: Decimal | None


def signed(side: Side, qty: Decimal) -> Decimal:
    """Buy quantities count up, sell quantities down."""
    return qty if side == "buy" else -qty


def apply_fill(pos: PositionState, side: Side, qty: Decimal, price: Decimal,
               fee: Decimal, price_step: Decimal = PRICE_STEP) -> FillResult:
    """Average-cost accounting; a fill that crosses zero closes one trade and opens another.

    The average price is kept at ``price_step`` (the symbol's, from
    ``RiskLimits.price_step``; 8 places by default), or at the places of the prices
    averaged when they carry more, and the cash the fill moves at
    ``MONEY_DECIMALS`` places (``risk.money``): every other step is exact."""
    with localcontext(EXACT):
        return _apply_fill(pos, side, qty, price, fee, price_step)


def _apply_fill(pos: PositionState, side: Side, qty: Decimal, price: Decimal,
                fee: Decimal, price_step: Decimal) -> FillResult:
    change = signed(side, qty)
    old = pos.qty
    new = old + change
    realized = ZERO
    if old == 0:
        avg = price
    elif (old > 0) == (change > 0):
        avg = at_step((abs(old) * pos.avg_price + qty * price) / abs(new),
                      finest(price_step, pos.avg_price, price))
    else:
        closed = min(abs(old), qty)
        realized = closed * (price - pos.avg_price) * (1 if old > 0 else -1)
        avg = pos.avg_price if (new > 0) == (old > 0) and new != 0 else price
    realized, fee = money(realized), money(fee)
    trade_pnl = pos.trade_pnl + realized - fee
    closes_trade = old != 0 and (new == 0 or (new > 0) != (old > 0))
    mark = pos.mark_price if pos.mark_price is not None else price
    result = PositionState(
        qty=new,
        avg_price=avg if new != 0 else ZERO,
        mark_price=mark,
        mark_ts=pos.mark_ts,
        trade_pnl=ZERO if closes_trade else trade_pnl,
    )
    return FillResult(position=result, cash_delta=realized - fee,
                      closed_trade_pnl=trade_pnl if closes_trade else None)


def with_marks(positions: Mapping[str, PositionState], reported: Iterable[Position],
               tick_ts: float | None,
               marks: Mapping[str, float] | None = None) -> dict[str, PositionState]:
    """Take the mark of every symbol the bot reported: its ``marks`` (flat symbols
    included), then its positions, whose own mark wins for a symbol in both."""
    out = dict(positions)
    for symbol, price in (marks or {}).items():
        pos = out.get(symbol, PositionState())
        out[symbol] = msgspec.structs.replace(pos, mark_price=dec(price), mark_ts=tick_ts)
    for p in reported:
        pos = out.get(p.symbol, PositionState())
        out[p.symbol] = msgspec.structs.replace(pos, mark_price=dec(p.mark_price), mark_ts=tick_ts)
    return forget_flat(out) if len(out) > SYMBOLS_MAX else out


SYMBOLS_MAX = 1024
"""Symbols the ledger keeps. A heartbeat may mark any symbol (a flat one included), so
beyond this many the flat ones first seen longest ago are forgotten: a held position
is never forgotten, and an order on a symbol whose mark was forgotten waits for its
next mark like one never marked."""


def forget_flat(positions: dict[str, PositionState]) -> dict[str, PositionState]:
    """``positions`` cut to :data:`SYMBOLS_MAX` by dropping flat symbols, oldest first."""
    excess = len(positions) - SYMBOLS_MAX
    flat = [s for s, p in positions.items() if not p.qty][:max(0, excess)]
    for symbol in flat:
        del positions[symbol]
    return positions


def adopt(positions: Mapping[str, PositionState],
          reported: Iterable[Position]) -> dict[str, PositionState]:
    """The bot's quantities and entry prices replace the ledger's (marks were taken already)."""
    out = {s: msgspec.structs.replace(p, qty=ZERO, avg_price=ZERO, trade_pnl=ZERO)
           for s, p in positions.items()}
    for p in reported:
        pos = out.get(p.symbol, PositionState())
        qty = pos.qty + dec(p.qty)  # a symbol listed twice counts twice, as in mismatches
        out[p.symbol] = msgspec.structs.replace(
            pos, qty=qty, avg_price=dec(p.avg_price) if qty else ZERO)
    return out


def mismatches(positions: Mapping[str, PositionState], reported: Iterable[Position],
               tolerance_pct: float) -> list[tuple[str, Decimal, Decimal]]:
    """(symbol, ledger qty, bot qty) for every symbol where the two differ."""
    theirs: dict[str, Decimal] = {}
    for p in reported:
        theirs[p.symbol] = theirs.get(p.symbol, ZERO) + dec(p.qty)
    rel = dec(tolerance_pct) / HUNDRED
    out = []
    for symbol in sorted(set(theirs) | {s for s, p in positions.items() if p.qty}):
        ours = positions[symbol].qty if symbol in positions else ZERO
        bot = theirs.get(symbol, ZERO)
        if abs(ours - bot) > rel * max(abs(ours), abs(bot)):
            out.append((symbol, ours, bot))
    return out


def unrealized(positions: Mapping[str, PositionState]) -> Decimal:
    """Open PnL at the marks, as ``RiskState.unrealized_pnl`` computes it."""
    return open_pnl(positions)
