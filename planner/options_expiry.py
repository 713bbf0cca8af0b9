"""Which expiries a trade style may use, counted in days from ``now`` in New York.

SCALP takes a same-day expiry (0DTE) when the chain lists one that still trades,
otherwise the nearest later one, and says clearly that it is not a true 0DTE
and why: index ETFs (SPY, QQQ, IWM) list an expiry every trading day, single
stocks typically only on Fridays. DAY, SWING and INVESTMENT take every expiry
within their window. Days are calendar days between New York dates, the way
DTE is quoted; a contract expiring today is gone after the close.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import msgspec

from planner.options_config import OptionsConfig
from planner.parts import Style
from planner.sessions import to_eastern

_FRIDAY = 4


class ExpiryWindow(msgspec.Struct, frozen=True, kw_only=True):
    """The days to expiry a style accepts, and how to describe the choice to people."""

    low: int
    high: int
    expirations: frozenset[str]
    """The chain's expiries that fall in the window (and still trade)."""
    true_0dte: bool = False
    label: str
    reason: str = ""
    """Why the window is empty, when it is."""


def trading_date(now: float, close_hour: float) -> tuple[date, bool]:
    """New York's date at ``now`` and whether today's expiries have stopped trading."""
    wall = to_eastern(now)
    return wall.date(), wall.hour + wall.minute / 60 + wall.second / 3600 >= close_hour


def days_to_expiry(expirations: Iterable[str | None], today: date) -> dict[str, int]:
    """DTE of every well-formed ``YYYY-MM-DD`` expiry; malformed ones are left out."""
    out: dict[str, int] = {}
    for text in expirations:
        if text is None or text in out or len(text) != 10:
            continue
        try:
            out[text] = (date.fromisoformat(text) - today).days
        except ValueError:
            continue
    return out


def expiry_window(style: Style, symbol: str, dte: dict[str, int], now: float,
                  cfg: OptionsConfig) -> ExpiryWindow:
    """The expiries ``style`` may trade in this chain (SCALP: the single nearest one)."""
    today, closed = trading_date(now, cfg.expiry_close_hour)
    low, high = cfg.dte.of(style)
    live = {e: d for e, d in dte.items() if d > 0 or (d == 0 and not closed)}
    if style != "SCALP":
        inside = frozenset(e for e, d in live.items() if low <= d <= high)
        reason = "" if inside else (f"no expiry {low}–{high} days out in the chain "
                                    f"(it lists {_listed(live)})")
        return ExpiryWindow(low=low, high=high, expirations=inside,
                            label=f"{style}: {low}–{high} DTE", reason=reason)
    near = sorted((d, e) for e, d in live.items() if low <= d <= high)
    if not near:
        return ExpiryWindow(low=low, high=high, expirations=frozenset(),
                            label="SCALP: no expiry", reason=f"no expiry within {high} days in "
                            f"the chain (it lists {_listed(live)})")
    days, expiry = near[0]
    if days == 0:
        return ExpiryWindow(low=0, high=0, expirations=frozenset({expiry}), true_0dte=True,
                            label=f"0DTE: expires today ({expiry}) at the close")
    why = _not_0dte(symbol, today, closed, cfg)
    return ExpiryWindow(low=days, high=days, expirations=frozenset({expiry}),
                        label=f"Nearest expiry {expiry} ({days} DTE), not a true 0DTE: {why}")


def _not_0dte(symbol: str, today: date, closed: bool, cfg: OptionsConfig) -> str:
    if closed:
        return "today's expiries stopped trading at the close"
    if symbol.upper() in {s.upper() for s in cfg.daily_expiry_symbols}:
        return (f"{symbol} lists daily expiries but the chain has none for today "
                f"({today.isoformat()})")
    if today.weekday() != _FRIDAY:
        friday = today + timedelta(days=(_FRIDAY - today.weekday()) % 7)
        return (f"{symbol} is a single stock, whose same-day expiries come only on Fridays "
                f"(next: {friday.isoformat()})")
    return f"the chain lists no {symbol} expiry for today ({today.isoformat()})"


def _listed(live: dict[str, int]) -> str:
    if not live:
        return "none that still trade"
    days = sorted(live.values())
    return f"{len(days)} expiries, {days[0]}–{days[-1]} days out"
