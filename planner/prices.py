"""Price ticks, rounding that always errs on the safe side, and price text.

Plan prices are rounded to a plausible tick so that people read $101.23 and not
$101.2345678; the direction of each rounding is chosen by the caller so that a
stop never moves toward the entry and a target never moves away from it.
``Decimal`` does the stepping: binary floats would turn 0.1 steps into 0.0999….
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

from planner.parts import AssetClass


def price_tick(price: float, asset_class: AssetClass) -> float:
    """A cent for stocks and ETFs over $1; six significant digits otherwise."""
    if asset_class != "crypto" and price >= 1:
        return 0.01
    exponent = math.floor(math.log10(price)) - 5 if price > 0 else -8
    return 10.0 ** max(exponent, -12)


_NOISE = Decimal("1e-9")


def _step(value: float, step: float, rounding: str) -> float:
    """Round to a multiple of ``step``, ignoring float noise below a billionth of a step
    (so that 99.8 + 0.1 = 99.89999999999999 floors to 99.90, not 99.89)."""
    with localcontext() as ctx:
        ctx.prec = 60
        quantum = Decimal(repr(step))
        steps = (Decimal(repr(value)) / quantum).quantize(_NOISE)
        return float(steps.to_integral_value(rounding=rounding) * quantum)


def floor_to(value: float, step: float) -> float:
    return _step(value, step, ROUND_FLOOR)


def ceil_to(value: float, step: float) -> float:
    return _step(value, step, ROUND_CEILING)


def nearest(value: float, step: float) -> float:
    return _step(value, step, ROUND_HALF_EVEN)


def money(value: float) -> float:
    """Dollars to the cent, rounded up: an amount at risk is never understated."""
    return ceil_to(value, 0.01)


def money_down(value: float) -> float:
    """Dollars to the cent, rounded down: a budget is never overstated."""
    return floor_to(value, 0.01)


def _digits(price: float) -> int:
    if price >= 1 or price <= 0:
        return 2
    return min(12, max(2, 5 - math.floor(math.log10(price))))


def fmt_price(price: float) -> str:
    """``$681.00``; more decimals for prices under a dollar (``$0.000123``)."""
    return f"${price:,.{_digits(price)}f}"


def fmt_delta(delta: float, price: float) -> str:
    """A price difference with the decimals of the price it is measured on."""
    return f"${delta:,.{_digits(price)}f}"


def fmt_money(amount: float) -> str:
    return f"${amount:,.2f}"


def fmt_range(low: float, high: float) -> str:
    return f"{fmt_price(low)}–{fmt_price(high)}"
