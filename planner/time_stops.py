"""Time stops per trade style: minutes for SCALP, the close for DAY, days for SWING.

Crypto trades around the clock, so it has no market close: its DAY and SWING
time stops are counted in hours ("Close within 8-12 hours") and its texts never
mention the close, end of day or 4:00 PM ET. The deadline is computed from the
``now`` the caller passes in.
"""

from __future__ import annotations

from planner.config import StyleConfig
from planner.parts import AssetClass, Style, TimeStop
from planner.sessions import close_after_trading_days, next_close

DEFAULT_CRYPTO_DAY_HOURS = (8.0, 12.0)
_FORBIDDEN_FOR_CRYPTO = ("4:00 PM", "4 PM", "market close", "EOD", "end of day", "close by")


def _span(pair: list[float] | None, default: tuple[float, float]) -> tuple[float, float]:
    return (pair[0], pair[1]) if pair else default


def time_stop(style: Style, asset_class: AssetClass, now: float, frame: StyleConfig) -> TimeStop:
    """The style's time stop, in hours for crypto wherever stocks would use the close."""
    kind = frame.time_stop_kind
    if kind == "none":
        return TimeStop(kind="none", text="No time stop: hold while the trend holds; exit at "
                                          "the stop or the targets")
    if kind == "minutes":
        low, high = _span(frame.time_stop_range, (15.0, 30.0))
        return TimeStop(kind="minutes", min=low, max=high, deadline_ts=now + high * 60,
                        text=f"Close within {low:g}-{high:g} minutes if neither the stop nor a "
                             "target is hit")
    if asset_class == "crypto":
        return _crypto_hours(style, now, frame)
    if kind == "market_close":
        return TimeStop(kind="market_close", deadline_ts=next_close(now),
                        text="Close by 4:00 PM ET (market close)")
    low, high = _span(frame.time_stop_range, (3.0, 5.0))
    return TimeStop(kind="days", min=low, max=high,
                    deadline_ts=close_after_trading_days(now, int(high)),
                    text=f"Exit after {low:g}-{high:g} trading days if the targets are not reached")


def _crypto_hours(style: Style, now: float, frame: StyleConfig) -> TimeStop:
    """Hours in place of the close or trading days; SWING also says the days it means."""
    default = DEFAULT_CRYPTO_DAY_HOURS
    if frame.time_stop_kind == "days" and frame.time_stop_range:
        default = (frame.time_stop_range[0] * 24, frame.time_stop_range[1] * 24)
    low, high = _span(frame.crypto_time_stop_hours, default)
    days = f" ({low / 24:g}-{high / 24:g} days)" if style == "SWING" else ""
    return TimeStop(kind="hours", min=low, max=high, deadline_ts=now + high * 3600,
                    text=f"Close within {low:g}-{high:g} hours{days}")


def mentions_market_close(text: str) -> bool:
    """True when a text uses stock-session language that crypto must never use."""
    lowered = text.lower()
    return any(word.lower() in lowered for word in _FORBIDDEN_FOR_CRYPTO)
