"""Vendor answers to messages: the shapes ccxt and Massive return, good and bad."""

from __future__ import annotations

import json

import pytest

from agents.feeds.parsing import (
    CrossParts,
    FeedDataError,
    Reading,
    Series,
    aggregate_closes,
    bars_message,
    change_pct,
    closes_of,
    cross_asset,
    funding_rate,
    ohlcv_bars,
    yield_change_bp,
)
from planner.config import MacroConfig
from planner.macro import analyze_macro

DAY = 86_400.0
NOW = 1_796_500_000.0


def rows(closes: list[float], start_ms: int = 1_790_000_000_000) -> list[list[object]]:
    return [[start_ms + i * 86_400_000, c, c * 1.01, c * 0.99, c, 10.0]
            for i, c in enumerate(closes)]


def test_ohlcv_rows_become_bars_oldest_first_with_times_in_seconds() -> None:
    bars = ohlcv_bars(list(reversed(rows([100.0, 101.0, 102.0]))), "BTC/USDT")
    assert [b.close for b in bars] == [100.0, 101.0, 102.0]
    assert bars[0].ts == 1_790_000_000.0
    series = closes_of(bars, "BTC/USDT")
    assert series.as_of == bars[-1].ts and series.closes == [100.0, 101.0, 102.0]


@pytest.mark.parametrize(("answer", "expected"), [
    ([], "non-empty list"),
    ({"error": "x"}, "found dict"),
    ([[1, "a", 1, 1, 1]], "expected a number"),
    ([[1, 0, 1, 1, 1]], "above 0"),
    ([[1, 2, 3]], "expected [ms, o, h, l, c, v]"),
    ([[1, float("nan"), 1, 1, 1]], "expected a number"),
])
def test_malformed_ohlcv_is_refused_whole(answer: object, expected: str) -> None:
    with pytest.raises(FeedDataError, match=expected.replace("[", r"\[")):
        ohlcv_bars(answer, "BTC/USDT")


def test_bars_message_has_an_atr_only_from_enough_daily_bars() -> None:
    daily = ohlcv_bars(rows([100.0 + i for i in range(40)]), "ETH/USDT")
    message = bars_message("ETHUSDT", daily, daily, interval_s=DAY)
    assert message.atr_30d is not None and message.atr_30d > 0
    assert message.asset_class == "crypto" and message.interval_s == DAY
    assert bars_message("ETHUSDT", daily, daily[:10], interval_s=DAY).atr_30d is None


def test_funding_rate_is_a_fraction_with_its_time() -> None:
    reading = funding_rate({"fundingRate": 0.0001, "timestamp": 1_796_000_000_000}, "X", NOW)
    assert reading == Reading(value=0.0001, as_of=1_796_000_000.0)
    assert funding_rate({"fundingRate": -0.0002}, "X", NOW).as_of == NOW
    with pytest.raises(FeedDataError, match="not a fraction"):
        funding_rate({"fundingRate": 3.5}, "X", NOW)
    with pytest.raises(FeedDataError, match="expected a number"):
        funding_rate({"fundingRate": None}, "X", NOW)


def aggs(closes: list[float]) -> bytes:
    return json.dumps({"ticker": "SPY", "status": "OK", "results": [
        {"c": c, "t": 1_790_000_000_000 + i * 86_400_000, "o": c, "h": c, "l": c, "v": 1}
        for i, c in enumerate(closes)]}).encode()


def test_aggregates_give_closes_and_the_newest_bar_time() -> None:
    series = aggregate_closes(aggs([10.0, 11.0, 12.1]), "SPY")
    assert series.closes == [10.0, 11.0, 12.1]
    assert series.as_of == 1_790_000_000.0 + 2 * DAY
    assert change_pct(series) == pytest.approx(10.0)


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"results": [{"c": ', "not JSON"),
    (b'[]', "expected a JSON object"),
    (b'{"status": "OK", "results": []}', "no results"),
    (b'{"status": "OK", "results": [{"c": "1", "t": 1}]}', "expected a number"),
    (b'{"status": "OK", "results": [7]}', "expected an object"),
])
def test_bad_aggregates_are_named(body: bytes, expected: str) -> None:
    with pytest.raises(FeedDataError, match=expected):
        aggregate_closes(body, "SPY")


def test_yield_change_in_basis_points_from_the_last_two_days() -> None:
    body = json.dumps({"results": [{"date": "2026-12-04", "yield_10_year": 4.09},
                                   {"date": "2026-12-03", "yield_10_year": 4.16}]}).encode()
    reading = yield_change_bp(body)
    assert reading.value == pytest.approx(-7.0)
    assert reading.as_of == 1_796_342_400.0  # 2026-12-04 00:00 UTC
    with pytest.raises(FeedDataError, match="need 2 days"):
        yield_change_bp(b'{"results": [{"date": "2026-12-04", "yield_10_year": 4.09}]}')
    with pytest.raises(FeedDataError, match="not YYYY-MM-DD"):
        yield_change_bp(b'{"results": [{"date": "x", "yield_10_year": 4}, '
                        b'{"date": "y", "yield_10_year": 4}]}')


def rising(n: int, as_of: float = NOW - DAY) -> Series:
    return Series(symbol="SPY", closes=[100 * 1.01 ** i for i in range(n)], as_of=as_of)


def test_nothing_fetched_is_no_snapshot() -> None:
    assert cross_asset(CrossParts(), now=NOW, stale_after_s=DAY * 4, sources=[]) is None


def test_a_snapshot_names_its_sources_and_its_oldest_as_of() -> None:
    parts = CrossParts(index=rising(60), btc=rising(60, NOW - 2 * DAY),
                       funding=Reading(value=0.0001, as_of=NOW))
    snap = cross_asset(parts, now=NOW, stale_after_s=4 * DAY, sources=["ccxt:binance", "massive"])
    assert snap is not None
    assert snap.source == "ccxt:binance+massive" and snap.as_of == NOW - 2 * DAY
    assert not snap.stale and snap.ts == NOW and snap.funding_rate == 0.0001
    assert analyze_macro(snap, "stock", MacroConfig()).regime == "risk_on"


def test_one_old_part_marks_the_whole_snapshot_stale() -> None:
    parts = CrossParts(index=rising(60), vix=rising(5, NOW - 10 * DAY))
    snap = cross_asset(parts, now=NOW, stale_after_s=4 * DAY, sources=["massive"])
    assert snap is not None and snap.stale


def test_new_parts_replace_old_ones_and_keep_the_rest() -> None:
    old = CrossParts(index=rising(3), btc=rising(4))
    new = CrossParts(btc=rising(5)).merged_into(old)
    assert new.index == old.index and new.btc is not None and len(new.btc.closes) == 5
