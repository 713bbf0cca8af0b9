"""US equity session arithmetic on timestamps that the caller passes in.

The rules are written out (US Eastern daylight saving since 2007: from the
second Sunday of March to the first Sunday of November, at 2:00 local) rather
than taken from ``zoneinfo``, because Windows ships no time-zone database and
the planner must run there without extra packages. Exchange holidays are not
modelled: a holiday is a weekday here, and the market status in the snapshot
is what tells the planner the market is closed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from planner.parts import AssetClass

OPEN = time(9, 30)
CLOSE = time(16, 0)
PREMARKET = time(4, 0)
_SUNDAY = 6


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    to_sunday = (_SUNDAY - first.weekday()) % 7
    return first + timedelta(days=to_sunday + 7 * (n - 1))


def eastern_offset(utc: datetime) -> timedelta:
    """UTC offset of US Eastern time at the UTC instant ``utc`` (-4 h or -5 h)."""
    year = utc.year
    dst_start = datetime.combine(_nth_sunday(year, 3, 2), time(7, 0), UTC)  # 2:00 EST
    dst_end = datetime.combine(_nth_sunday(year, 11, 1), time(6, 0), UTC)  # 2:00 EDT
    return timedelta(hours=-4) if dst_start <= utc < dst_end else timedelta(hours=-5)


def to_eastern(ts: float) -> datetime:
    """Naive wall-clock time in New York at the epoch instant ``ts``."""
    utc = datetime.fromtimestamp(ts, UTC)
    return (utc + eastern_offset(utc)).replace(tzinfo=None)


def from_eastern(wall: datetime) -> float:
    """Epoch seconds of a New York wall-clock time (ambiguous hours resolve to EST)."""
    guess = wall.replace(tzinfo=UTC) + timedelta(hours=5)
    offset = eastern_offset(guess)
    return (wall.replace(tzinfo=UTC) - offset).timestamp()


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def is_weekend(ts: float, asset_class: AssetClass) -> bool:
    """Saturday or Sunday: in New York for stocks, in UTC for crypto."""
    if asset_class == "crypto":
        return datetime.fromtimestamp(ts, UTC).weekday() >= 5
    return to_eastern(ts).weekday() >= 5


def next_close(ts: float) -> float:
    """The next 4:00 PM New York close at or after ``ts``, on a weekday."""
    wall = to_eastern(ts)
    day = wall.date()
    if not is_weekday(day) or wall.time() >= CLOSE:
        day = _next_weekday(day)
    return from_eastern(datetime.combine(day, CLOSE))


def close_after_trading_days(ts: float, days: int) -> float:
    """The close ``days`` trading days after the session of ``ts`` (weekends skipped)."""
    day = to_eastern(ts).date()
    for _ in range(days):
        day = _next_weekday(day)
    return from_eastern(datetime.combine(day, CLOSE))


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while not is_weekday(day):
        day += timedelta(days=1)
    return day


def session_start(ts: float, asset_class: AssetClass) -> float:
    """Start of the session that ``ts`` belongs to, for the session VWAP.

    Crypto sessions are UTC days. A stock session starts at the 9:30 open, or at
    4:00 for pre-market timestamps, so that pre-market VWAP is its own. A timestamp
    between midnight and 4:00 in New York (overnight trading, a bot's late bar) is
    still the previous day's session, from its 9:30 open: the start is never after
    ``ts``, so the last bar always belongs to its own session.
    """
    if asset_class == "crypto":
        day = datetime.fromtimestamp(ts, UTC).date()
        return datetime.combine(day, time(0, 0), UTC).timestamp()
    wall = to_eastern(ts)
    clock = wall.time()
    if clock >= OPEN:
        return from_eastern(datetime.combine(wall.date(), OPEN))
    if clock >= PREMARKET:
        return from_eastern(datetime.combine(wall.date(), PREMARKET))
    return from_eastern(datetime.combine(wall.date() - timedelta(days=1), OPEN))


def session_day(ts: float, asset_class: AssetClass) -> date:
    """The calendar day a timestamp trades in (New York for stocks, UTC for crypto)."""
    if asset_class == "crypto":
        return datetime.fromtimestamp(ts, UTC).date()
    return to_eastern(ts).date()
