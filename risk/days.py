"""Trading days: which calendar day a timestamp belongs to.

The day boundary is local midnight at a fixed offset from UTC (``timezone`` in
``risk.yaml``: ``UTC`` or ``UTC+03:00``). Fixed offsets, not IANA zone names:
the rules stay pure (no time-zone database to read) and behave the same on
Windows, which ships none; the cost is that a daylight-saving change needs an
edit of the offset.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Final

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_DAY_S: Final = 86_400


def day_of(now: float, utc_offset_s: int) -> str:
    """ISO date (``2024-05-01``) of the trading day that holds ``now``."""
    return _iso_day(int((now + utc_offset_s) // _DAY_S))


@lru_cache(maxsize=64)
def _iso_day(days: int) -> str:
    """Cached: the gate asks for today's date on every order, and it changes once a day."""
    return date.fromordinal(_EPOCH_ORDINAL + days).isoformat()


def day_ends(day: str, utc_offset_s: int) -> float:
    """The Unix time at which trading day ``day`` (``2024-05-01``) ends."""
    days = date.fromisoformat(day).toordinal() - _EPOCH_ORDINAL + 1
    return float(days * _DAY_S - utc_offset_s)
