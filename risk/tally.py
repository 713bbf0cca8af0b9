"""Running sums of one scope's figures, so that the portfolio's veto adds one bot, not all.

:func:`risk.portfolio.sums` adds every bot's equity, start equity, high-water mark,
gross notional and notional on the order's symbol, for every order, though between
two orders most bots' states have not changed. A :class:`Tally` keeps each bot's
figures and their totals for one scope: an order takes in the states that changed
since the last one (one identity check per bot) and swaps in the ordering bot's
exposure after its order.

The figures are the same, to the last digit and exponent. ``sums`` adds in the
thread's decimal context (28 digits by default), one bot after the other; the totals
here are kept exactly (a context without a precision limit). The two agree when none
of ``sums``' additions rounds, which is checked for each figure before a total is
used: every operand and partial sum is a multiple of 10^e for the smallest exponent e
among the operands (and the 0 the sum starts from) and at most the sum of their
absolute values, so when that sum is below 10^(prec + e) each addition is exact,
whatever their order, and the result has exponent e; a sum from +0 that never rounds
toward floor is never -0. When the check fails, a context limit could be reached, or
a figure cannot be valued, the caller sums the figures as before. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal, getcontext
from itertools import compress
from operator import attrgetter, is_not
from typing import Protocol

from risk.exposure import NOTHING_PENDING, Pending, gross_notional, pending_of, worst_qty
from risk.money import ZERO
from risk.portfolio import Exposure, Sums, ledger_of
from risk.state import RiskState
from risk.total import Limits, Term, Total, power

_SYMBOLS_KEPT = 64
"""Symbols a tally keeps totals for (orders name configured symbols only)."""
_STATE = attrgetter("state")


class Holder(Protocol):
    """Whatever holds a bot's state of the moment (its risk engine)."""

    @property
    def state(self) -> RiskState: ...


class Tally:
    """The running totals of one scope; see the module docstring."""

    def __init__(self, members: Sequence[tuple[str, Holder]], *, told: bool = False) -> None:
        """``told``: the holders say when their state changes (:meth:`moved`), and only
        those are looked at; otherwise every holder's state is compared at each use."""
        self.bots = [bot_id for bot_id, _ in members]
        self._holders = [holder for _, holder in members]
        self._index = {bot_id: i for i, bot_id in enumerate(self.bots)}
        n = len(members)
        self._told = told
        self._moved: set[int] = set(range(n))
        """Told: the bots whose state may have changed since the last use (all at first)."""
        self._seen: list[RiskState | None] = [None] * n
        self._ledgers: list[tuple[Term, Term, Term] | None] = [None] * n
        self._gross: list[Term | None] = [None] * n
        self._unsafe, self._unsafe_count = [False] * n, 0
        """Bots whose figures cannot be valued (a missing mark, a figure not finite)."""
        self._totals = (Total(), Total(), Total(), Total())  # equity, start, high, gross
        self._columns: dict[str, tuple[list[Term | None], Total, list[int]]] = {}
        """Symbol -> each bot's notional on it (None: it cannot be valued), their total,
        and how many cannot be valued."""
        self._quanta: list[tuple[Decimal, int]] = []  # recent exponents, for same_quantum

    def sums(self, bot_id: str, symbol: str, after: Exposure, *,
             on_symbol: bool = True) -> Sums | None:
        """:func:`risk.portfolio.sums` of the scope's states of the moment, or None when
        the totals cannot give it to the digit (the caller sums then). ``on_symbol``
        False (no limit reads it): 0 for the notional on ``symbol``; a bot that cannot
        value that cannot value its gross either, so that is still left to the caller."""
        limits = self._limits()
        if limits is None or after.unpriced is not None or not (
                after.gross.is_finite() and after.symbol.is_finite()):
            return None
        i = self._index[bot_id]
        equity, start, high, gross = self._totals
        held = ZERO
        if on_symbol:
            column = self._columns.get(symbol)
            if column is None:
                column = self._column(symbol)
            found = None if column[2][0] else \
                column[1].summed(column[0][i], self._term(after.symbol), limits)
            if found is None:
                return None
            held = found
        figures = (equity.summed(None, None, limits), start.summed(None, None, limits),
                   high.summed(None, None, limits),
                   gross.summed(self._gross[i], self._term(after.gross), limits))
        for value in figures:  # not ``None in``: that compares None with each Decimal
            if value is None:
                return None
        return Sums(*figures, held, None)  # type: ignore[arg-type]  # None ruled out above

    def moved(self, bot_id: str) -> None:
        """``bot_id``'s holder has a new state (a told tally looks at no other)."""
        self._moved.add(self._index[bot_id])

    def totals(self) -> Sums | None:
        """``sums`` with no order, as :func:`risk.portfolio.readings` takes them (its
        symbol figure is 0: no bot holds the symbol ``""``); or None, as :meth:`sums`."""
        limits = self._limits()
        if limits is None:
            return None
        equity, start, high, gross = (total.summed(None, None, limits) for total in self._totals)
        if equity is None or start is None or high is None or gross is None:
            return None
        return Sums(equity, start, high, gross, ZERO, None)

    def _limits(self) -> Limits | None:
        """Take in the states that changed; the thread's context's limits, or None when
        the totals cannot serve (a figure that cannot be valued, a context that rounds
        toward floor or clamps exponents)."""
        seen = self._seen
        if self._told:
            moved = self._moved
            for i in tuple(moved):  # each let go once taken in: a failure leaves the rest
                state = self._holders[i].state
                if state is not seen[i]:
                    self._take(i, state)
                moved.discard(i)
        else:
            for i in compress(range(len(seen)), map(is_not, map(_STATE, self._holders), seen)):
                self._take(i, self._holders[i].state)
        ctx = getcontext()
        if self._unsafe_count or ctx.rounding == ROUND_FLOOR or ctx.clamp:
            return None
        return ctx.prec, ctx.Etiny(), ctx.Emax

    def _take(self, i: int, state: RiskState) -> None:
        """A bot's new state: its changed figures out of the totals, the new ones in."""
        seen = self._seen[i]
        if seen is not None and not self._unsafe[i] and state.positions is seen.positions \
                and state.cash is seen.cash and state.start_equity is seen.start_equity \
                and state.high_water is seen.high_water:
            self._seen[i] = state  # an order's reservation or end: only what is pending moved
            self._take_pending(i, state, pending_of(seen))
            return
        now, first, top = ledger_of(state)
        pending = pending_of(state)
        gross, unpriced = _gross_of(state, pending)
        unsafe = unpriced is not None or not gross.is_finite() or (
            now is not None and not (now.is_finite() and first.is_finite() and top.is_finite()))
        old = self._ledgers[i] or (None, None, None)
        if now is None or unsafe:
            for total, term in zip(self._totals, old, strict=False):
                total.swap(term, None)
            self._ledgers[i] = None
        else:
            self._ledgers[i] = (self._swap(self._totals[0], old[0], now),
                                self._swap(self._totals[1], old[1], first),
                                self._swap(self._totals[2], old[2], top))
        self._gross[i] = self._totals[3].swap(self._gross[i], None) if unsafe else \
            self._swap(self._totals[3], self._gross[i], gross)
        self._unsafe_count += unsafe - self._unsafe[i]
        self._seen[i], self._unsafe[i] = state, unsafe
        self._take_columns(i, state, pending)

    def _take_pending(self, i: int, state: RiskState, before: Mapping[str, Pending]) -> None:
        """A bot's new state with the same ledger (positions, marks, cash, start equity
        and high-water mark, the very same objects) as the last: its equity is the same,
        its exposure is worked out again (on the symbols whose pending sum changed)."""
        pending = pending_of(state)
        gross, unpriced = _gross_of(state, pending)
        if unpriced is not None or not gross.is_finite():
            self._seen[i] = None
            self._take(i, state)  # as any unsafe state
            return
        self._gross[i] = self._swap(self._totals[3], self._gross[i], gross)
        self._take_columns(i, state, pending, before)

    def _take_columns(self, i: int, state: RiskState, pending: Mapping[str, Pending],
                      before: Mapping[str, Pending] | None = None) -> None:
        for symbol, (terms, total, bad) in self._columns.items():
            if before is not None and pending.get(symbol) is before.get(symbol):
                continue  # the same position and the same pending sum: the same figure
            value = self._on_symbol(state, pending, symbol)
            later = total.swap(terms[i], None) if value is None else \
                self._swap(total, terms[i], value)
            bad[0] += (later is None) - (terms[i] is None)
            terms[i] = later

    def _swap(self, total: Total, before: Term | None, value: Decimal) -> Term:
        """``value`` in place of ``before`` in ``total``; nothing to do when they are the
        same number with the same exponent (most figures, from one state to the next)."""
        if before is not None and before[0] == value and value.same_quantum(before[0]):
            return before
        later = self._term(value)
        total.swap(before, later)
        return later

    def _column(self, symbol: str) -> tuple[list[Term | None], Total, list[int]]:
        if len(self._columns) >= _SYMBOLS_KEPT:
            self._columns.clear()
        terms: list[Term | None] = []
        total = Total()
        for state in self._seen:
            assert state is not None  # every state was taken in before
            value = self._on_symbol(state, pending_of(state), symbol)
            terms.append(None if value is None else self._term(value))
            total.swap(None, terms[-1])
        column = self._columns[symbol] = (terms, total, [terms.count(None)])
        return column

    def _on_symbol(self, state: RiskState, pending: Mapping[str, Pending],
                   symbol: str) -> Decimal | None:
        """The bot's notional on ``symbol`` as :func:`risk.portfolio.exposure_of` has it;
        None when it holds or has pending some of it without a mark."""
        pos = state.positions.get(symbol)
        worst = worst_qty(ZERO if pos is None else pos.qty, pending.get(symbol, NOTHING_PENDING))
        mark = None if pos is None else pos.mark_price
        if worst and mark is None:
            return None
        value = worst * mark if mark is not None else ZERO
        return value if value.is_finite() else None

    def _term(self, value: Decimal) -> Term:
        for quantum, exp in self._quanta:  # figures have a few exponents: no tuple to build
            if value.same_quantum(quantum):
                return value, value.copy_abs() if value.is_signed() else None, exp
        found = value.as_tuple().exponent
        assert isinstance(found, int)  # finite
        self._quanta = [(power(found), found), *self._quanta[:7]]
        return value, value.copy_abs() if value.is_signed() else None, found


def _gross_of(state: RiskState, pending: Mapping[str, Pending]) -> tuple[Decimal, str | None]:
    """``gross_notional`` of a state, kept beside it (as ``pending_of`` keeps its sum):
    a bot in an account is in two scopes, whose totals both take its new state in."""
    kept = state.__dict__.get("_gross")
    if kept is not None and kept[0] is state.positions and kept[1] is pending:
        return kept[2]  # type: ignore[no-any-return]
    found = gross_notional(state.positions, pending, "", ZERO, ZERO)
    state.__dict__["_gross"] = (state.positions, pending, found)
    return found
