"""Crypto data through ccxt's public REST API: BTC daily closes, funding, and bars.

Blocking (ccxt's synchronous client): the actor calls it in a worker thread
(``_threads.py``). No key is given to the client, so only public endpoints can
be reached. ``base_url`` points every API url of the exchange at another
host (keeping each path), which is how the tests aim it at a local server.
Only spot and linear markets are loaded (the funding rate is a linear
perpetual's), which halves the start-up requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from agents.feeds._source import FeedError, retry_after, scrubbed
from agents.feeds.config import CryptoFeed
from agents.feeds.parsing import (
    FeedDataError,
    Reading,
    Series,
    bars_message,
    closes_of,
    funding_rate,
    ohlcv_bars,
)
from bus.protocol import Bars, OhlcvBar

T = TypeVar("T")
TIMEFRAME_S = {"1m": 60.0, "5m": 300.0, "15m": 900.0, "1h": 3600.0, "4h": 14_400.0,
               "1d": 86_400.0}


class CryptoSource:
    """One exchange; ``name`` (``ccxt:binance``) is what snapshots name as their source."""

    def __init__(self, cfg: CryptoFeed, *, timeout_s: float, daily_closes: int) -> None:
        import ccxt  # heavy: imported only when the feed is on

        self.cfg = cfg
        self.name = f"ccxt:{cfg.exchange}"
        self._daily = daily_closes
        self._errors: tuple[type[BaseException], ...] = (ccxt.BaseError,)
        self._rate_limited: tuple[type[BaseException], ...] = (ccxt.RateLimitExceeded,
                                                               ccxt.DDoSProtection)
        self.exchange: Any = getattr(ccxt, cfg.exchange)({
            "timeout": int(timeout_s * 1000), "enableRateLimit": True,
            "options": {"fetchMarkets": {"types": ["spot", "linear"]},
                        "fetchCurrencies": False}})
        if cfg.base_url:
            point_at(self.exchange.urls, cfg.base_url)

    def btc(self) -> Series:
        symbol = self.cfg.btc_symbol
        return closes_of(self._ohlcv(symbol, "1d", self._daily), symbol)

    def funding(self, now: float) -> Reading | None:
        if not self.cfg.funding_symbol:
            return None
        return self._call(lambda: funding_rate(
            self.exchange.fetch_funding_rate(self.cfg.funding_symbol),
            self.cfg.funding_symbol, now))

    def bars(self, symbol: str) -> Bars:
        """The configured timeframe's bars, with the ATR from daily bars."""
        tf = self.cfg.timeframe
        bars = self._ohlcv(symbol, tf, self.cfg.bars)
        daily = bars if tf == "1d" else self._ohlcv(symbol, "1d", 100)
        return bars_message(symbol.replace("/", ""), bars, daily, interval_s=TIMEFRAME_S[tf])

    def _ohlcv(self, symbol: str, timeframe: str, limit: int) -> list[OhlcvBar]:
        return self._call(lambda: ohlcv_bars(
            self.exchange.fetch_ohlcv(symbol, timeframe, limit=limit), symbol))

    def _call(self, fetch: Callable[[], T]) -> T:
        try:
            return fetch()
        except FeedDataError as exc:
            raise FeedError(f"{self.name}: {scrubbed(exc)}") from None
        except self._rate_limited as exc:
            headers = getattr(self.exchange, "last_response_headers", None) or {}
            wait = retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            raise FeedError(f"{self.name}: rate limited ({scrubbed(exc)})",
                            retry_after_s=wait) from None
        except self._errors as exc:
            raise FeedError(f"{self.name}: {type(exc).__name__}: {scrubbed(exc)}") from None


def point_at(urls: dict[str, Any], base_url: str) -> None:
    """Every API url of a ccxt exchange, on ``base_url`` with its own path kept."""
    api = urls.get("api")
    if isinstance(api, str):
        urls["api"] = base_url.rstrip("/") + urlparse(api).path
        return
    if isinstance(api, dict):
        for key, value in api.items():
            if isinstance(value, str):
                api[key] = base_url.rstrip("/") + urlparse(value).path
