"""New York session arithmetic without a time-zone database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from planner.parts import AssetClass
from planner.sessions import (
    close_after_trading_days,
    eastern_offset,
    is_weekend,
    next_close,
    session_start,
)

CLASSES: tuple[AssetClass, ...] = ("stock", "index_etf", "crypto")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_daylight_saving_starts_second_sunday_of_march_at_2am() -> None:
    assert eastern_offset(utc(2026, 3, 8, 6, 59)) == timedelta(hours=-5)
    assert eastern_offset(utc(2026, 3, 8, 7, 0)) == timedelta(hours=-4)


def test_daylight_saving_ends_first_sunday_of_november_at_2am() -> None:
    assert eastern_offset(utc(2026, 11, 1, 5, 59)) == timedelta(hours=-4)
    assert eastern_offset(utc(2026, 11, 1, 6, 0)) == timedelta(hours=-5)


def test_next_close_today_or_next_weekday() -> None:
    wednesday_morning = utc(2026, 2, 4, 15).timestamp()
    assert next_close(wednesday_morning) == utc(2026, 2, 4, 21).timestamp()
    friday_evening = utc(2026, 2, 6, 22).timestamp()
    assert next_close(friday_evening) == utc(2026, 2, 9, 21).timestamp()
    saturday = utc(2026, 2, 7, 15).timestamp()
    assert next_close(saturday) == utc(2026, 2, 9, 21).timestamp()


def test_trading_days_skip_weekends() -> None:
    friday = utc(2026, 2, 6, 15).timestamp()
    assert close_after_trading_days(friday, 3) == utc(2026, 2, 11, 21).timestamp()


def test_weekend_is_local_for_stocks_and_utc_for_crypto() -> None:
    # Saturday 02:00 UTC is still Friday evening in New York
    ts = utc(2026, 2, 7, 2).timestamp()
    assert not is_weekend(ts, "stock")
    assert is_weekend(ts, "crypto")


def test_session_start() -> None:
    ten_am = utc(2026, 2, 4, 15).timestamp()
    assert session_start(ten_am, "stock") == utc(2026, 2, 4, 14, 30).timestamp()
    pre_market = utc(2026, 2, 4, 12).timestamp()  # 7:00 in New York
    assert session_start(pre_market, "stock") == utc(2026, 2, 4, 9).timestamp()
    assert session_start(ten_am, "crypto") == utc(2026, 2, 4).timestamp()


def test_a_stock_bar_before_the_premarket_belongs_to_the_previous_days_session() -> None:
    overnight = utc(2026, 12, 7, 5, 36).timestamp()  # Monday 0:36 in New York
    assert session_start(overnight, "stock") == utc(2026, 12, 6, 14, 30).timestamp()
    summer = utc(2026, 7, 8, 7).timestamp()  # Wednesday 3:00 EDT
    assert session_start(summer, "stock") == utc(2026, 7, 7, 13, 30).timestamp()


def test_a_session_never_starts_after_its_timestamp() -> None:
    """Every quarter hour of a year, daylight saving's two Sundays included: the start
    is at or before the timestamp and less than two days before it."""
    ts = utc(2026, 1, 1).timestamp()
    end = utc(2027, 1, 1).timestamp()
    while ts < end:
        for asset_class in CLASSES:
            start = session_start(ts, asset_class)
            assert ts - 2 * 86_400 < start <= ts, (ts, asset_class)
        ts += 900
