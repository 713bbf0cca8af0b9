"""Exact arithmetic for money and quantities.

Why ``Decimal``: a limit is a line that must be crossed or not, and binary
floats blur the line (``0.1 + 0.2 > 0.3``), so a position closed in three fills
could look like a dust position still open, or a loss of exactly the limit could
pass. Every float that arrives on the wire is turned into the decimal of its
shortest round-trip text (``repr``), so the engine computes with the number the
bot meant to send. Ledger arithmetic (average prices, open PnL, equity) runs in
``EXACT``, a private context of 60 digits, so that products of two wire numbers
(about 34 digits) are exact and the result never depends on the thread's
default context; comparisons elsewhere need no more than the default 28.

The one inexact operation is a division (an average entry price, a leverage
ratio): its quotient is cut at a documented step rather than left with 60 digits
of residue. Average prices keep the symbol's ``price_decimals`` (8 unless
``risk.yaml`` says otherwise); money in the quote currency (USDT: cash, realised
PnL, fees, equity) keeps ``MONEY_DECIMALS`` = 8, both rounded half to even. So
every amount the ledger holds is an exact decimal with at most 8 places.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache
from typing import Final

EXACT: Final = Context(prec=60, rounding=ROUND_HALF_EVEN)
ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
HUNDRED: Final = Decimal(100)
MONEY_DECIMALS: Final = 8
"""Places kept for amounts in the quote currency (USDT); see the module docstring."""
MONEY_STEP: Final = Decimal(1).scaleb(-MONEY_DECIMALS)
RATIO_STEP: Final = Decimal("0.0001")
"""Places kept for a shown ratio (leverage): a division, so never exact."""


def money(value: Decimal) -> Decimal:
    """An amount in the quote currency at ``MONEY_DECIMALS`` places, half to even."""
    return value.quantize(MONEY_STEP, ROUND_HALF_EVEN, EXACT)


@lru_cache(maxsize=64)
def price_step(decimals: int) -> Decimal:
    """The step an average price is kept at: ``price_step(2) == Decimal("0.01")``."""
    return Decimal(1).scaleb(-decimals)


PRICE_STEP: Final = price_step(8)
"""The default step of an average price (``price_decimals`` in ``risk.yaml``)."""


FINEST_PLACES: Final = 20
"""The most places an average price keeps, whatever the prices carry: a price on the
wire may be as small as a float goes (5e-324, 324 places), and cutting a price of
1e15 at such a step needs more digits than ``EXACT`` has (it raised, and the engine
crashed on every such fill until it gave up). Prices under 1e15 at 20 places fit."""


def finest(step: Decimal, *values: Decimal) -> Decimal:
    """``step``, or a finer one when ``values`` carry more places: an average of prices
    keeps at least their own places (up to :data:`FINEST_PLACES`), so averaging one
    price gives that price."""
    places = step.as_tuple().exponent
    finer = places
    for value in values:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and isinstance(finer, int) and exponent < finer:
            finer = max(exponent, -FINEST_PLACES)
    return step if finer == places or not isinstance(finer, int) else Decimal(1).scaleb(finer)


def at_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` cut to ``step`` (from ``price_step`` or ``RATIO_STEP``), half to even."""
    return value.quantize(step, ROUND_HALF_EVEN, EXACT)


@lru_cache(maxsize=4096)
def dec(value: float) -> Decimal:
    """The decimal the sender wrote: ``dec(0.1) == Decimal("0.1")`` exactly.

    Cached: limits and prices repeat from one order to the next, and a cache hit
    costs a tenth of the conversion. ``Decimal`` is immutable, so sharing is safe.
    """
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))


def is_positive_finite(value: object) -> bool:
    """True for a usable price or quantity; NaN and infinities fail every comparison.

    Takes any object: a Struct built in code is not type-checked by msgspec.
    """
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 < value < float("inf"))


def usdt(value: Decimal) -> str:
    """Money for a person: ``500`` when whole, else two decimals (``512.40``).

    Two decimals first: only a text ending in ``.00`` can be of a whole amount, so
    the test for one is paid by those alone (every ALLOW words a notional)."""
    text = f"{value:.2f}"
    if text.endswith(".00") and value == value.to_integral_value():
        return f"{value:.0f} USDT"
    return f"{text} USDT"


def qty(value: Decimal) -> str:
    """A quantity or price without exponent or trailing zeros (``0.05``, ``65000``)."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def pct(value: Decimal) -> str:
    """A percentage with at most two decimals (``1.5%``)."""
    return f"{_two_places(value)}%"


def ratio(value: Decimal) -> str:
    """A leverage figure (``2.31x``)."""
    return f"{_two_places(value)}x"


def _two_places(value: Decimal) -> str:
    # ``format`` rounds without the context's precision limit, so it never raises.
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
