"""Limits across bots: the sums of several ledgers against ``risk.yaml`` ``portfolio:``.

Each bot keeps its own ledger and its own limits; an order is allowed only when its
bot's limits hold *and* these do, for every scope the bot is in: ``portfolio`` (all
bots) and, when bots are spread over more than one account, ``account:<name>``.

The gross notional is NautilusTrader #4419's formula: the notional every bot holds
plus the reserved notional of every pending order plus the new order, each at its
worst case (``risk.exposure``: all open buys filled, or all open sells), against
``max_gross_notional`` and ``equity x max_leverage``. A position that cannot be valued
(no mark) makes the sum unknown, and an unknown sum is a DENY, never a guess.

Drawdown is measured from the sum of the bots' high-water marks of the day, which is
never below the high of their summed equity: stricter, never looser, and restored
after a restart with each bot's own ledger. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from risk.decision import Decision, deny
from risk.exposure import NOTHING_PENDING, Pending, gross_notional, pending_of, worst_qty
from risk.limits import LossLimit, PortfolioLimits
from risk.measures import reached
from risk.money import ZERO, dec, ratio, usdt
from risk.state import PositionState, RiskState


class Member(NamedTuple):
    """One bot of the fleet as the portfolio sees it."""

    bot_id: str
    account: str
    state: RiskState


Seat = tuple[str, str, RiskState]
"""A :class:`Member` as a plain tuple (bot id, account, state): the fleet's gate builds
one per bot for every order, and a tuple costs a fraction of a named one to build."""


class Exposure(NamedTuple):
    """A bot's worst-case gross notional and the order's symbol's notional, or None when
    something held cannot be valued (the name of the symbol in ``unpriced``)."""

    gross: Decimal
    symbol: Decimal
    unpriced: str | None = None


class Sums(NamedTuple):
    equity: Decimal
    start: Decimal
    high: Decimal
    gross: Decimal
    symbol: Decimal
    unpriced: str | None


def exposure_of(state: RiskState, symbol: str) -> Exposure:
    """What ``state`` holds and has pending, at the marks, at its worst case.

    Worked out once per state and symbol: every order of every bot sums every other
    bot's exposure, and between two orders most bots' states have not changed. Kept
    beside the state as ``pending_of`` keeps its sum, tied to the identity of the
    positions and the pending sum it was worked out from."""
    pending = pending_of(state)
    kept = state.__dict__.get("_exposure")
    if kept is None or kept[0] is not state.positions or kept[1] is not pending \
            or len(kept[2]) >= _SYMBOLS_KEPT:
        kept = (state.positions, pending, {})
        state.__dict__["_exposure"] = kept
    by_symbol: dict[str, Exposure] = kept[2]
    found = by_symbol.get(symbol)
    if found is None:
        found = by_symbol[symbol] = _exposure(state.positions, pending, symbol)
    return found


_SYMBOLS_KEPT = 64
"""Symbols whose exposure one state keeps (orders name configured symbols only)."""


def _exposure(positions: Mapping[str, PositionState], pending: Mapping[str, Pending],
              symbol: str) -> Exposure:
    gross, unpriced = gross_notional(positions, pending, "", ZERO, ZERO)
    pos = positions.get(symbol)
    worst = worst_qty(ZERO if pos is None else pos.qty, pending.get(symbol, NOTHING_PENDING))
    mark = None if pos is None else pos.mark_price
    if worst and mark is None:
        return Exposure(gross, ZERO, symbol)
    return Exposure(gross, worst * mark if mark is not None else ZERO, unpriced)


def scopes(members: Sequence[Member], bot_id: str) -> list[tuple[str, list[Member]]]:
    """The scopes ``bot_id`` is in: the portfolio, and its account when there are several."""
    found = [("portfolio", list(members))]
    accounts = {m.account for m in members}
    own = next((m.account for m in members if m.bot_id == bot_id), None)
    if len(accounts) > 1 and own is not None:
        found.append((f"account:{own}", [m for m in members if m.account == own]))
    return found


def sums(group: Sequence[Seat], symbol: str, bot_id: str, after: Exposure) -> Sums:
    """The group's figures, the ordering bot counted with its order (``after``)."""
    equity = start = high = gross = on_symbol = ZERO
    unpriced: str | None = None
    for member_id, _, state in group:
        if member_id == bot_id:
            now, first, top = ledger_of(state)
            held = after
        else:
            now, first, top, held = _figures(state, symbol)
        if now is not None:
            equity += now
            start += first
            high += top
        gross += held.gross
        on_symbol += held.symbol
        unpriced = unpriced or held.unpriced
    return Sums(equity, start, high, gross, on_symbol, unpriced)


_Figures = tuple[Decimal | None, Decimal, Decimal, Exposure]
"""A bot's equity, start equity and high-water mark (both its equity when unset; all
unused when its equity is None), and its exposure on one symbol."""


def ledger_of(state: RiskState) -> tuple[Decimal | None, Decimal, Decimal]:
    now = state.equity
    if now is None:
        return None, ZERO, ZERO
    return (now, state.start_equity if state.start_equity is not None else now,
            state.high_water if state.high_water is not None else now)


def _figures(state: RiskState, symbol: str) -> _Figures:
    """:func:`ledger_of` and :func:`exposure_of` of another bot, kept beside its state.

    Each order sums every other bot's figures, and most of them have not changed since
    the last order: one lookup per bot rather than a property, a sum and a dict walk.
    Tied, as the sums it is made of, to the identity of the positions and open orders."""
    kept = state.__dict__.get("_figures")
    if kept is None or kept[0] is not state.positions or kept[1] is not state.open_orders \
            or len(kept[2]) >= _SYMBOLS_KEPT:
        kept = (state.positions, state.open_orders, {})
        state.__dict__["_figures"] = kept
    by_symbol: dict[str, _Figures] = kept[2]
    found = by_symbol.get(symbol)
    if found is None:
        found = by_symbol[symbol] = (*ledger_of(state), exposure_of(state, symbol))
    return found


class Reading(NamedTuple):
    """One scope's figure against one limit, for warnings and the timer's halts."""

    scope: str
    code: str
    value: Decimal
    limit: Decimal
    text: str

    @property
    def reached(self) -> bool:
        return reached(self.value, self.limit)


WARN_AT = Decimal("0.8")
"""A warning is said at 80 % of a limit."""
HALTS = frozenset({"portfolio_loss_limit", "portfolio_drawdown_limit"})
"""Readings that halt every bot of their scope when reached (the others only deny)."""


def all_scopes(members: Sequence[Member]) -> list[tuple[str, list[Member]]]:
    """The portfolio, and each account when there are several."""
    found = [("portfolio", list(members))]
    accounts = sorted({m.account for m in members})
    if len(accounts) > 1:
        found += [(f"account:{a}", [m for m in members if m.account == a]) for a in accounts]
    return found


def readings(members: Sequence[Member], limits: PortfolioLimits) -> list[Reading]:
    """Every set limit of every scope, measured now (no order)."""
    return [r for scope, group in all_scopes(members)
            for r in scope_readings(scope, sums(group, "", "", Exposure(ZERO, ZERO)), limits)]


def scope_readings(scope: str, s: Sums, limits: PortfolioLimits) -> list[Reading]:
    """:func:`readings` of one scope, from its sums with no order."""
    found: list[Reading] = []
    for code, name, value, base, rule in (
            ("portfolio_loss_limit", "max_daily_loss", s.start - s.equity, s.start,
             limits.max_daily_loss),
            ("portfolio_drawdown_limit", "max_drawdown", s.high - s.equity, s.high,
             limits.max_drawdown)):
        if rule is not None and base > ZERO:
            most = rule.amount(base)
            found.append(Reading(scope, code, value, most,
                                 f"{scope}: {name} at {usdt(value)} of {usdt(most)}"))
    if limits.max_gross_notional is not None:
        cap = dec(limits.max_gross_notional)
        found.append(Reading(scope, "portfolio_gross_limit", s.gross, cap,
                             f"{scope}: gross notional {usdt(s.gross)} of {usdt(cap)}"))
    if limits.max_leverage is not None and s.equity > ZERO:
        most, lev = dec(limits.max_leverage), s.gross / s.equity
        found.append(Reading(scope, "portfolio_leverage_limit", lev, most,
                             f"{scope}: gross leverage {ratio(lev)} of {ratio(most)}x"))
    return found


def check_portfolio(members: Sequence[Member], bot_id: str, symbol: str, after: Exposure,
                    limits: PortfolioLimits) -> Decision | None:
    """The first portfolio limit the order would break, in any of its scopes, or None."""
    return check_groups(scopes(members, bot_id), bot_id, symbol, after, limits)


def check_groups(groups: Sequence[tuple[str, Sequence[Seat]]], bot_id: str, symbol: str,
                 after: Exposure, limits: PortfolioLimits) -> Decision | None:
    """:func:`check_portfolio` on the scopes ``bot_id`` is in, as :func:`scopes` lists
    them (a fleet's gate keeps them, since its bots and accounts do not change)."""
    for scope, group in groups:
        found = check_scope(scope, sums(group, symbol, bot_id, after), symbol, limits)
        if found is not None:
            return found
    return None


def check_scope(scope: str, figures: Sums, symbol: str,
                limits: PortfolioLimits) -> Decision | None:
    """One scope's limits on its sums; every reason starts with the scope."""
    found = check_losses(scope, figures, limits)
    return found if found is not None else check_exposures(scope, figures, symbol, limits)


def check_losses(scope: str, figures: Sums, limits: PortfolioLimits) -> Decision | None:
    """:func:`check_scope`'s first checks, which read the ledgers' sums only."""
    loss = _loss(figures.start - figures.equity, figures.start, limits.max_daily_loss)
    if loss is not None:
        return deny("portfolio_loss_limit", f"{scope}: daily loss {usdt(loss[0])} has "
                    f"reached max_daily_loss {loss[1]}")
    drop = _loss(figures.high - figures.equity, figures.high, limits.max_drawdown)
    if drop is not None:
        return deny("portfolio_drawdown_limit", f"{scope}: drawdown {usdt(drop[0])} from the "
                    f"bots' high-water marks has reached max_drawdown {drop[1]}")
    return None


def check_exposures(scope: str, figures: Sums, symbol: str,
                    limits: PortfolioLimits) -> Decision | None:
    """:func:`check_scope`'s other checks, on what the bots hold and have pending."""
    if figures.unpriced is not None:
        return deny("no_mark_price", f"{scope}: no mark price for {figures.unpriced}, "
                    "needed to value the gross notional across bots")
    cap = limits.max_notional_per_symbol
    if cap is not None and figures.symbol > dec(cap):
        return deny("portfolio_notional_limit", f"{scope}: {symbol} notional summed over "
                    f"the bots would be {usdt(figures.symbol)}, over max_notional_per_symbol "
                    f"{usdt(dec(cap))}")
    most = limits.max_gross_notional
    if most is not None and figures.gross > dec(most):
        return deny("portfolio_gross_limit", f"{scope}: gross notional would be "
                    f"{usdt(figures.gross)} (held, pending and this order), over "
                    f"max_gross_notional {usdt(dec(most))}")
    return _leverage(scope, figures, limits)


def _leverage(scope: str, figures: Sums, limits: PortfolioLimits) -> Decision | None:
    if limits.max_leverage is None:
        return None
    most, equity = dec(limits.max_leverage), figures.equity
    if equity <= ZERO:
        return deny("portfolio_leverage_limit", f"{scope}: combined equity is "
                    f"{usdt(equity)}, so no gross leverage is within max_leverage")
    if figures.gross > most * equity:
        return deny("portfolio_leverage_limit", f"{scope}: gross leverage would be "
                    f"{ratio(figures.gross / equity)} ({usdt(figures.gross)} held, pending and "
                    f"this order / equity {usdt(equity)}), over max_leverage {ratio(most)}x")
    return None


def _loss(loss: Decimal, base: Decimal, limit: LossLimit | None) -> tuple[Decimal, str] | None:
    """(loss, the limit in words) when ``loss`` reaches ``limit`` of ``base``."""
    if limit is None or base <= ZERO:
        return None
    budget = limit.amount(base)
    if not reached(loss, budget):
        return None
    return loss, f"{usdt(budget)} ({limit.basis(base, 'the combined base equity')})"
