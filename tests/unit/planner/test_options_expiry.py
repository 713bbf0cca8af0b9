"""DTE windows by trade style, and SCALP's 0DTE rule with its clear labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from planner.options_expiry import days_to_expiry, expiry_window, trading_date
from planner.parts import Style
from tests.unit.planner.options_factories import NOW, OPTIONS, TODAY


def dte(*days: int, today: date = TODAY) -> dict[str, int]:
    return days_to_expiry([(today + timedelta(days=d)).isoformat() for d in days], today)


def at_ny(day: date, hour: int, minute: int = 0) -> float:
    """``day`` at ``hour`` in New York in February (EST, UTC-5)."""
    return datetime(day.year, day.month, day.day, hour + 5, minute, tzinfo=UTC).timestamp()


def test_dte_counts_calendar_days_in_new_york_and_skips_malformed_dates() -> None:
    got = days_to_expiry(["2026-02-04", "2026-02-11", "2026-2-11", "2026-02-30", None], TODAY)
    assert got == {"2026-02-04": 0, "2026-02-11": 7}


def test_new_york_date_and_the_close() -> None:
    assert trading_date(NOW, 16.0) == (TODAY, False)
    assert trading_date(at_ny(TODAY, 16, 0), 16.0) == (TODAY, True)
    late_utc = datetime(2026, 2, 5, 3, 0, tzinfo=UTC).timestamp()  # 22:00 on the 4th in NY
    assert trading_date(late_utc, 16.0) == (TODAY, True)


def test_scalp_takes_a_listed_same_day_expiry_as_true_0dte() -> None:
    window = expiry_window("SCALP", "SPY", dte(0, 1, 2, 9), NOW, OPTIONS)
    assert window.true_0dte and (window.low, window.high) == (0, 0)
    assert window.expirations == {"2026-02-04"}
    assert window.label == "0DTE: expires today (2026-02-04) at the close"


def test_scalp_on_a_single_stock_midweek_takes_friday_and_says_it_is_not_0dte() -> None:
    window = expiry_window("SCALP", "AAPL", dte(2, 9, 16), NOW, OPTIONS)
    assert not window.true_0dte and window.expirations == {"2026-02-06"}
    assert window.label == (
        "Nearest expiry 2026-02-06 (2 DTE), not a true 0DTE: AAPL is a single stock, whose "
        "same-day expiries come only on Fridays (next: 2026-02-06)")


def test_scalp_on_a_single_stock_on_friday_takes_its_0dte() -> None:
    friday = date(2026, 2, 6)
    window = expiry_window("SCALP", "AAPL", dte(0, 7, today=friday), at_ny(friday, 10),
                           OPTIONS)
    assert window.true_0dte and window.expirations == {"2026-02-06"}


def test_scalp_on_an_index_etf_without_todays_expiry_says_so() -> None:
    window = expiry_window("SCALP", "QQQ", dte(1, 2), NOW, OPTIONS)
    assert window.expirations == {"2026-02-05"} and not window.true_0dte
    assert "QQQ lists daily expiries but the chain has none for today (2026-02-04)" \
        in window.label


def test_after_the_close_todays_expiry_is_gone() -> None:
    window = expiry_window("SCALP", "SPY", dte(0, 1), at_ny(TODAY, 16, 5), OPTIONS)
    assert window.expirations == {"2026-02-05"}
    assert window.label.endswith("not a true 0DTE: today's expiries stopped trading at the close")


def test_scalp_looks_no_further_than_its_window() -> None:
    window = expiry_window("SCALP", "AAPL", dte(9, 16), NOW, OPTIONS)
    assert not window.expirations
    assert window.reason == "no expiry within 7 days in the chain (it lists 2 expiries, " \
        "9–16 days out)"


@pytest.mark.parametrize(("style", "inside"), [
    ("DAY", {3, 5, 7}), ("SWING", {8, 16, 30}), ("INVESTMENT", {30, 44, 60})])
def test_other_styles_take_every_expiry_in_their_window(style: Style, inside: set[int]) -> None:
    days = (0, 1, 2, 3, 5, 7, 8, 16, 30, 44, 60, 61, 90)
    window = expiry_window(style, "SPY", dte(*days), NOW, OPTIONS)
    got = {(date.fromisoformat(e) - TODAY).days for e in window.expirations}
    assert got == inside and not window.true_0dte
    low, high = OPTIONS.dte.of(style)
    assert window.label == f"{style}: {low}–{high} DTE"


def test_an_empty_window_says_what_the_chain_lists() -> None:
    window = expiry_window("DAY", "AAPL", dte(2, 9, 16), NOW, OPTIONS)
    assert window.reason == "no expiry 3–7 days out in the chain (it lists 3 expiries, 2–16 " \
        "days out)"
