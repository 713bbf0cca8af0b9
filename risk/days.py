"""Trading days: which calendar day a timestamp belongs to.

The day boundary is local midnight at a fixed offset from UTC (``timezone`` in
``risk.yaml``: ``UTC`` or ``UTC+03:00``). Fixed offsets, not IANA zone names:
the rules stay pure (no time-zone database to read) and behave the same on
Windows, which ships none; the cost is that a daylight-saving change needs an
edit of the offset.
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache
from typing import Final

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_DAY_S: Final = 86_400


def day_of(now: float, utc_offset_s: int) -> str:
    """ISO date (``2024-05-01``) of the trading day that holds ``now``."""
    return _iso_day(_day_number(now, utc_offset_s))


def _day_number(now: float, utc_offset_s: int) -> int:
    """Days since 1970-01-01 at the offset: never decreases as ``now`` grows (a
    rounded sum, then the exact floor of a quotient)."""
    return int((now + utc_offset_s) // _DAY_S)


def day_span(day: str, utc_offset_s: int) -> tuple[float, float] | None:
    """The times ``now`` that ``day_of`` puts in ``day``: exactly ``start <= now < end``.

    ``day_of`` never decreases with ``now``, so its days are intervals; each end is
    found by stepping float by float from the boundary in whole seconds, with
    ``day_of``'s own arithmetic. None for a text ``day_of`` would never give (the
    caller then asks ``day_of``), or if the steps do not settle.
    """
    try:
        days = date.fromisoformat(day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    if _iso_day(days) != day:
        return None
    start, end = _first_at(days, utc_offset_s), _first_at(days + 1, utc_offset_s)
    return None if start is None or end is None else (start, end)


def _first_at(days: int, utc_offset_s: int) -> float | None:
    """The least float ``now`` with ``_day_number(now) >= days``."""
    now = float(days * _DAY_S - utc_offset_s)
    for _ in range(64):
        if _day_number(now, utc_offset_s) < days:
            break
        now = math.nextafter(now, -math.inf)
    else:
        return None
    for _ in range(64):
        ahead = math.nextafter(now, math.inf)
        if _day_number(ahead, utc_offset_s) >= days:
            return ahead
        now = ahead
    return None


@lru_cache(maxsize=64)
def _iso_day(days: int) -> str:
    """Cached: the gate asks for today's date on every order, and it changes once a day."""
    return date.fromordinal(_EPOCH_ORDINAL + days).isoformat()


def day_ends(day: str, utc_offset_s: int) -> float:
    """The Unix time at which trading day ``day`` (``2024-05-01``) ends."""
    days = date.fromisoformat(day).toordinal() - _EPOCH_ORDINAL + 1
    return float(days * _DAY_S - utc_offset_s)
