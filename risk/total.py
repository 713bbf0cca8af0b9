"""An exact running sum of Decimals, and whether a context would give the same.

:class:`Total` is what :mod:`risk.tally` keeps per figure and scope: it adds and takes
away terms in a context without a precision limit, and :meth:`Total.summed` answers
with the very value that adding the terms one by one in a given context would give,
or None when one of those additions might round (see :mod:`risk.tally`). Pure: no I/O.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact
from functools import lru_cache

from risk.money import ZERO

WHOLE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])
"""Exact: no precision limit (and Inexact raises, should that ever be wrong)."""
Term = tuple[Decimal, Decimal | None, int]
"""One operand: its value, its absolute value when negative, and its exponent."""
Limits = tuple[int, int, int]
"""A context's precision, smallest exponent (``Etiny``) and ``Emax``."""


class Total:
    """The exact sum of some terms, the sum of the negative ones' absolute values (so
    the sum of all absolute values is ``value + 2 * negative``), and how many of them
    have each exponent. Notionals are never negative: most swaps add and take one."""

    __slots__ = ("exps", "kept", "negative", "value")

    def __init__(self) -> None:
        self.value, self.negative = ZERO, ZERO
        self.exps: dict[int, int] = {}
        self.kept: tuple[Limits, Decimal | None] | None = None  # summed(None, None, limits)

    def swap(self, before: Term | None, later: Term | None) -> Term | None:
        self.kept, exps = None, self.exps  # ``later`` in place of ``before``
        if before is not None:
            self.value = WHOLE.subtract(self.value, before[0])
            if before[1] is not None:
                self.negative = WHOLE.subtract(self.negative, before[1])
            left = exps[before[2]] - 1
            if left:
                exps[before[2]] = left
            else:
                del exps[before[2]]
        if later is not None:
            self.value = WHOLE.add(self.value, later[0])
            if later[1] is not None:
                self.negative = WHOLE.add(self.negative, later[1])
            exps[later[2]] = exps.get(later[2], 0) + 1
        return later

    def summed(self, out: Term | None, into: Term | None, limits: Limits) -> Decimal | None:
        """The total with ``out`` taken out and ``into`` put in, exactly as adding its
        terms one by one in a context of ``limits`` gives it; None when an addition
        might round or reach an exponent limit."""
        if out is None and into is None:
            kept = self.kept
            if kept is None or kept[0] != limits:
                kept = self.kept = (limits, self._summed(None, None, limits))
            return kept[1]
        return self._summed(out, into, limits)

    def _summed(self, out: Term | None, into: Term | None, limits: Limits) -> Decimal | None:
        low = 0  # the exponent of the 0 a sum starts from
        for exp, count in self.exps.items():
            if exp < low and (out is None or exp != out[2] or count > 1):
                low = exp
        value, negative = self.value, self.negative
        if out is not None:
            value = WHOLE.subtract(value, out[0])
            if out[1] is not None:
                negative = WHOLE.subtract(negative, out[1])
        if into is not None:
            low = into[2] if into[2] < low else low
            value = WHOLE.add(value, into[0])
            if into[1] is not None:
                negative = WHOLE.add(negative, into[1])
        size = WHOLE.add(value, WHOLE.add(negative, negative)) if negative else value
        prec, tiny, most = limits
        if low < tiny or prec + low > most or not size < power(prec + low):
            return None
        step = power(low)
        return value if value.same_quantum(step) else value.quantize(step, context=WHOLE)


@lru_cache(maxsize=512)
def power(exp: int) -> Decimal:
    return Decimal(1).scaleb(exp, WHOLE)
