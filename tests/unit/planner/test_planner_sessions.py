"""New York session arithmetic without a time-zone database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from planner.sessions import (
    close_after_trading_days,
    eastern_offset,
    is_weekend,
    next_close,
    session_start,
)


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
