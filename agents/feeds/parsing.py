"""Vendor answers to messages: ccxt's OHLCV and funding, Massive's aggregates and yields.

Pure: the I/O adapters hand over what the vendor returned (ccxt's Python lists
and dicts, Massive's response bytes) and get typed values back, or a
:class:`FeedDataError` whose one-line message says what was expected and what
came instead. Nothing here trusts the vendor: a row of the wrong shape fails
the whole answer (a silent gap in a close series would bend the trend), a
non-positive price is malformed, and the newest point's time is kept as the
data's as-of. Option chains are decoded by ``planner/contracts_polygon.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from bus.protocol import Bars, OhlcvBar
from planner.messages import CrossAssetSnapshot
from planner.parts import Bar
from planner.snapshot import DAILY_ATR_PERIOD, AnalysisError, daily_atr

MAX_BARS = 1000


class FeedDataError(ValueError):
    """A vendor answered, but not with data of the expected shape."""


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """Closes of one symbol, oldest first, and the time of the newest (its as-of)."""

    symbol: str
    closes: list[float]
    as_of: float


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """One number with its as-of time (a funding rate, a yield change)."""

    value: float
    as_of: float


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FeedDataError(f"{what}: expected a number, found {str(value)[:40]!r}")
    return float(value)


def _price(value: Any, what: str) -> float:
    number = _number(value, what)
    if number <= 0:
        raise FeedDataError(f"{what}: expected a price above 0, found {number:g}")
    return number


def ohlcv_bars(rows: Any, symbol: str) -> list[OhlcvBar]:
    """ccxt ``fetch_ohlcv`` rows ``[ms, open, high, low, close, volume]``, oldest first."""
    if not isinstance(rows, list) or not rows:
        found = f"{len(rows)} rows" if isinstance(rows, list) else type(rows).__name__
        raise FeedDataError(f"{symbol} OHLCV: expected a non-empty list of rows, found {found}")
    bars = []
    for i, row in enumerate(rows[-MAX_BARS:]):
        if not isinstance(row, list | tuple) or len(row) < 5:
            raise FeedDataError(f"{symbol} OHLCV row {i}: expected [ms, o, h, l, c, v]")
        o, h, low, c = (_price(v, f"{symbol} OHLCV row {i}") for v in row[1:5])
        volume = _number(row[5], f"{symbol} volume") if len(row) > 5 and row[5] is not None else 0
        bars.append(OhlcvBar(ts=_number(row[0], f"{symbol} OHLCV time") / 1000, open=o,
                             high=max(h, o, c, low), low=min(low, o, c, h), close=c,
                             volume=max(volume, 0.0)))
    return sorted(bars, key=lambda bar: bar.ts)


def closes_of(bars: Sequence[OhlcvBar], symbol: str) -> Series:
    return Series(symbol=symbol, closes=[bar.close for bar in bars], as_of=bars[-1].ts)


def bars_message(symbol: str, bars: list[OhlcvBar], daily: Sequence[OhlcvBar], *,
                 interval_s: float) -> Bars:
    """``market.bars`` for a symbol the bot does not send; ATR from the daily bars when enough."""
    atr: float | None
    try:
        atr = daily_atr([Bar(ts=b.ts, open=b.open, high=b.high, low=b.low, close=b.close)
                         for b in daily][-(DAILY_ATR_PERIOD * 3):])
    except AnalysisError:
        atr = None
    return Bars(symbol=symbol, bars=bars, interval_s=interval_s, asset_class="crypto",
                atr_30d=atr if atr and atr > 0 else None)


def funding_rate(answer: Any, symbol: str, now: float) -> Reading:
    """ccxt ``fetch_funding_rate``: ``fundingRate`` per 8 hours as a fraction."""
    if not isinstance(answer, Mapping):
        raise FeedDataError(f"{symbol} funding: expected a mapping, found {type(answer).__name__}")
    rate = _number(answer.get("fundingRate"), f"{symbol} fundingRate")
    if abs(rate) >= 1:
        raise FeedDataError(f"{symbol} fundingRate: {rate:g} is not a fraction per 8 hours")
    stamp = answer.get("timestamp")
    as_of = _number(stamp, f"{symbol} funding timestamp") / 1000 if stamp is not None else now
    return Reading(value=rate, as_of=as_of)


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise FeedDataError(f"{what}: the answer is not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise FeedDataError(f"{what}: expected a JSON object, found {type(raw).__name__}")
    return raw


def aggregate_closes(data: bytes, symbol: str) -> Series:
    """Massive ``/v2/aggs/ticker/{T}/range/1/day/...``: ``results[].c`` and ``.t`` (ms)."""
    raw = _json(data, f"{symbol} aggregates")
    results = raw.get("results")
    if not isinstance(results, list) or not results:
        raise FeedDataError(f"{symbol} aggregates: no results (status "
                            f"{str(raw.get('status', '?'))[:20]!r})")
    rows = []
    for i, row in enumerate(results):
        if not isinstance(row, dict):
            raise FeedDataError(f"{symbol} aggregates result {i}: expected an object")
        rows.append((_number(row.get("t"), f"{symbol} result {i} t") / 1000,
                     _price(row.get("c"), f"{symbol} result {i} c")))
    rows.sort()
    return Series(symbol=symbol, closes=[c for _, c in rows][-MAX_BARS:], as_of=rows[-1][0])


def change_pct(series: Series) -> float:
    """The last close's change from the one before, in percent."""
    if len(series.closes) < 2:
        raise FeedDataError(f"{series.symbol}: need 2 closes for a change, got "
                            f"{len(series.closes)}")
    return 100 * (series.closes[-1] / series.closes[-2] - 1)


def yield_change_bp(data: bytes) -> Reading:
    """Massive ``/fed/v1/treasury-yields``: the last ``yield_10_year`` change, in basis points."""
    raw = _json(data, "treasury yields")
    results = raw.get("results")
    if not isinstance(results, list):
        raise FeedDataError("treasury yields: no results list")
    rows = sorted((str(r.get("date", "")), _number(r.get("yield_10_year"), "yield_10_year"))
                  for r in results if isinstance(r, dict) and r.get("yield_10_year") is not None)
    if len(rows) < 2:
        raise FeedDataError(f"treasury yields: need 2 days of yield_10_year, got {len(rows)}")
    return Reading(value=100 * (rows[-1][1] - rows[-2][1]), as_of=_date_ts(rows[-1][0]))


def _date_ts(day: str) -> float:
    """``YYYY-MM-DD`` to the UTC midnight that starts it."""
    try:
        return datetime.fromisoformat(day[:10]).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise FeedDataError(f"treasury yields: date {day[:20]!r} is not YYYY-MM-DD") from None


class CrossParts(msgspec.Struct, kw_only=True):
    """What the feeds have fetched so far; each part may be missing."""

    index: Series | None = None
    vix: Series | None = None
    dollar: Series | None = None
    yields: Reading | None = None
    btc: Series | None = None
    funding: Reading | None = None

    def merged_into(self, older: CrossParts) -> CrossParts:
        """These parts over ``older``: what this fetch brought replaces what was known."""
        return CrossParts(**{name: getattr(self, name) if getattr(self, name) is not None
                             else getattr(older, name) for name in self.__struct_fields__})


def cross_asset(parts: CrossParts, *, now: float, stale_after_s: float,
                sources: Sequence[str]) -> CrossAssetSnapshot | None:
    """The snapshot for the Macro analysis; None when nothing was fetched yet.

    ``ts`` is when the feeds looked (``now``); ``as_of`` is the oldest newest-point
    among the parts, so one stale part marks the whole snapshot stale.
    """
    stamps = [p.as_of for p in (parts.index, parts.vix, parts.dollar, parts.yields,
                                parts.btc, parts.funding) if p is not None]
    if not stamps:
        return None
    as_of = min(stamps)
    vix = parts.vix
    return CrossAssetSnapshot(
        ts=now, index_symbol=parts.index.symbol if parts.index else "SPY",
        index_closes=parts.index.closes if parts.index else [],
        vix=vix.closes[-1] if vix else None,
        vix_change_pct=change_pct(vix) if vix and len(vix.closes) > 1 else None,
        dollar_change_pct=(change_pct(parts.dollar)
                           if parts.dollar and len(parts.dollar.closes) > 1 else None),
        yield_change_bp=parts.yields.value if parts.yields else None,
        btc_closes=parts.btc.closes if parts.btc else [],
        funding_rate=parts.funding.value if parts.funding else None,
        source="+".join(sources), as_of=as_of, stale=now - as_of > stale_after_s)
