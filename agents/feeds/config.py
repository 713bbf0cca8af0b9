"""The market-data feeds' settings (``config/feeds.yaml``), typed and bounded.

Shipped off: with ``enabled: false`` (or every feed off) the kernel opens no
connection at all. Keys are never written here: a feed names the environment
variable that holds its key, so this file can be shared and journaled.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Ticker = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Url = Annotated[str, msgspec.Meta(max_length=512, pattern=r"^$|^https?://[^\s]+$")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^(MASSIVE|POLYGON)_[A-Z0-9_]{1,56}$")]
"""Only names the child-process deny-list covers (kernel/child_env.py): the key never
reaches the bot."""


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: a misspelt key is an error, not a silent default."""


class CryptoFeed(_Config, frozen=True):
    """Public crypto data through ccxt: no key is needed or read."""

    enabled: bool = False
    exchange: Literal["binance", "bybit", "okx", "kraken"] = "binance"
    """The ccxt exchange id; its public REST API is used."""
    base_url: Url = ""
    """Empty: the exchange's own API. Otherwise every API url of the exchange is
    pointed here (a mirror or a local test server)."""
    btc_symbol: Ticker = "BTC/USDT"
    """Its daily closes are the BTC trend of the Macro analysis."""
    funding_symbol: Ticker = "BTC/USDT:USDT"
    """The perpetual whose funding rate (per 8 hours) the Macro analysis reads; empty: none."""
    bar_symbols: list[Ticker] = []
    """Symbols published on ``market.bars`` (for symbols the bot does not send)."""
    timeframe: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1d"
    """Of the bars on ``market.bars``; the BTC closes are always daily."""
    bars: Annotated[int, msgspec.Meta(ge=50, le=1000)] = 200


class OptionsFeed(_Config, frozen=True):
    """Option-chain snapshots, fetched when a plan for the underlying is due."""

    enabled: bool = True
    underlyings: list[Ticker] = []
    """Underlyings whose chains may be fetched; empty: ``options.yaml`` ``live.symbols``."""
    cache_age_s: Seconds = 60.0
    """A chain fetched less than this long ago is not fetched again."""
    prefetch: bool = True
    """Fetch every followed underlying's chain when the feeds start and again each time it
    is ``cache_age_s`` old, so the first plan finds one; false: only when a plan is due."""
    min_interval_s: Seconds = 12.0
    """At most one chain request this often (the free tier allows 5 requests a minute)."""
    page_limit: Annotated[int, msgspec.Meta(ge=1, le=250)] = 250
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=400)] = 40
    """A chain longer than ``page_limit`` × ``max_pages`` is cut there, with a note."""


class MassiveFeed(_Config, frozen=True):
    """Massive (formerly Polygon.io): index, VIX, dollar and yield data, option chains."""

    enabled: bool = False
    key_env: EnvName = "MASSIVE_API_KEY"
    """The environment variable holding the key (``POLYGON_API_KEY`` is read when it is unset)."""
    base_url: Url = ""
    """Empty: the vendor's API. Otherwise a mirror or a local test server."""
    index_symbol: Ticker = "SPY"
    vix_symbol: Ticker = "I:VIX"
    dollar_symbol: Ticker = "UUP"
    """An ETF or index that tracks the dollar; its daily change is the dollar's."""
    yields: bool = True
    """Read the 10-year Treasury yield (``/fed/v1/treasury-yields``)."""
    options: OptionsFeed = OptionsFeed()


class FeedsConfig(_Config, frozen=True):
    enabled: bool = False
    """The master switch: off, nothing below is fetched, whatever it says."""
    interval_s: Annotated[float, msgspec.Meta(ge=5, le=86_400)] = 300.0
    """How often the cross-asset data and the bars are fetched."""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    """One fetch longer than this counts as a failure (the request is abandoned)."""
    stale_after_s: Annotated[float, msgspec.Meta(gt=0, le=30 * 86_400)] = 4 * 86_400.0
    """Data whose newest point is older than this is published marked stale (a
    long weekend keeps daily closes fresh)."""
    backoff_initial_s: Seconds = 5.0
    backoff_max_s: Seconds = 600.0
    anomaly_repeat_s: Seconds = 900.0
    """An ongoing ``feed_degraded`` is journaled again at most this often."""
    daily_closes: Annotated[int, msgspec.Meta(ge=20, le=500)] = 60
    """Daily closes fetched for the index and BTC trends (the slow average needs enough)."""
    crypto: CryptoFeed = CryptoFeed()
    massive: MassiveFeed = MassiveFeed()

    def feeds(self) -> dict[str, str]:
        """Each feed's name and whether it runs: ``on``, or the reason it is off."""
        out: dict[str, str] = {}
        for name, feed in (("crypto", self.crypto), ("massive", self.massive)):
            if not self.enabled:
                out[name] = "off (feeds.yaml enabled: false)"
            elif not feed.enabled:
                out[name] = f"off (feeds.yaml {name}.enabled: false)"
            else:
                out[name] = "on"
        return out

    def standing(self, *, key_present: bool, option_symbols: list[str]) -> dict[str, str]:
        """:meth:`feeds` with what the environment and options.yaml decide: the Massive key
        and the option chains' underlyings. Pure, so ``kernel check`` can say it offline."""
        out = self.feeds()
        massive = self.massive
        if out["massive"] == "on" and not key_present:
            out["massive"] = (f"off: no key (set ${massive.key_env} or $POLYGON_API_KEY "
                              "in the kernel's environment)")
        if out["massive"] != "on":
            out["chains"] = "off (with massive)"
        elif not massive.options.enabled:
            out["chains"] = "off (feeds.yaml massive.options.enabled: false)"
        elif not (massive.options.underlyings or option_symbols):
            out["chains"] = ("off: no underlying to follow (set massive.options.underlyings "
                             "or options.yaml live.symbols)")
        else:
            out["chains"] = "on"
        return out
