"""The vendor adapters against a local server speaking Binance's and Massive's REST shapes.

Real clients (ccxt, the official Massive client) over real HTTP on loopback, aimed
at the server through their base-URL settings: good answers decode into the
planner's messages; a 429 carries its Retry-After; malformed payloads, empty
answers, empty chains and a hanging endpoint each fail with a one-line reason
that never holds the key.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import pytest

from agents.feeds._source import FeedError
from agents.feeds.config import FeedsConfig
from agents.feeds.sources import CHAINS, CRYPTO, MASSIVE, Sources, open_sources
from tests.support.fake_vendors import Vendor, fake_vendors

KEY = "test-key-7f3a9c"
pytestmark = pytest.mark.timeout(60)


def feeds_config(base: str, **extra: object) -> FeedsConfig:
    raw: dict[str, object] = {
        "enabled": True, "timeout_s": 2,
        "crypto": {"enabled": True, "base_url": base, "bar_symbols": ["ETH/USDT"]},
        "massive": {"enabled": True, "base_url": base, "options": {"underlyings": ["SPY"]}}}
    raw.update(extra)
    return msgspec.convert(raw, FeedsConfig)


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with fake_vendors() as running:
        yield running


@pytest.fixture
def sources(vendor: Vendor) -> Sources:
    return open_sources(feeds_config(vendor.base), {"MASSIVE_API_KEY": KEY})


def test_every_feed_decodes_the_vendor_shapes(sources: Sources, vendor: Vendor) -> None:
    assert sources.running() == [CRYPTO, MASSIVE, CHAINS] and sources.off == {}
    now = time.time()
    crypto, bars = sources.poller(CRYPTO, now)()
    assert crypto.btc is not None and len(crypto.btc.closes) == 60
    assert crypto.funding is not None and crypto.funding.value == pytest.approx(0.0001)
    assert [b.symbol for b in bars] == ["ETHUSDT"] and bars[0].atr_30d is not None
    massive, _ = sources.poller(MASSIVE, now)()
    assert massive.index is not None and massive.index.closes[-1] == pytest.approx(690.0)
    assert massive.vix is not None and massive.yields is not None
    assert massive.yields.value == pytest.approx(-7.0)
    assert sources.massive is not None
    chain = sources.massive.chain("SPY")
    assert len(chain.contracts) == 240 and chain.source == "massive"
    assert chain.ts is not None and abs(chain.ts - now) < 60
    sent = [headers.get("Authorization") for path, headers in vendor.requests
            if path.startswith(("/v2/", "/v3/", "/fed/"))]
    assert sent and set(sent) == {f"Bearer {KEY}"}
    assert all("Authorization" not in h for p, h in vendor.requests if "binance" in p)


def test_a_chain_longer_than_a_page_is_followed_by_cursor(vendor: Vendor) -> None:
    cfg = feeds_config(vendor.base, massive={
        "enabled": True, "base_url": vendor.base,
        "options": {"underlyings": ["SPY"], "page_limit": 100}})
    massive = open_sources(cfg, {"MASSIVE_API_KEY": KEY}).massive
    assert massive is not None
    assert len(massive.chain("SPY").contracts) == 240
    assert vendor.count("/v3/snapshot/options/SPY") == 3


@pytest.mark.parametrize("fault", ["429", "500", "malformed", "empty", "hang"])
@pytest.mark.parametrize(("feed", "path"), [(CRYPTO, "/api/v3/klines"), (MASSIVE, "/v2/aggs")])
def test_a_bad_answer_fails_with_a_reason_and_no_key(sources: Sources, vendor: Vendor,
                                                     feed: str, path: str, fault: str) -> None:
    vendor.faults[path] = fault
    vendor.retry_after_s = 42
    started = time.monotonic()
    with pytest.raises(FeedError) as caught:
        sources.poller(feed, time.time())()
    assert time.monotonic() - started < 20  # a hang ends at the client's timeout
    message = str(caught.value)
    assert KEY not in message and "\n" not in message
    if fault == "429":
        assert "rate limited" in message and caught.value.retry_after_s == 42
    else:
        assert caught.value.retry_after_s is None
    if fault == "empty":
        assert "no results" in message or "0 rows" in message


def test_an_empty_chain_decodes_to_no_contracts(sources: Sources, vendor: Vendor) -> None:
    """The actor refuses to publish it (tests/integration/test_feeds_actor.py)."""
    vendor.faults["/v3/snapshot/options"] = "empty"
    assert sources.massive is not None
    chain = sources.massive.chain("SPY")
    assert chain.contracts == [] and chain.ts is None


def test_without_a_key_massive_is_off_and_says_how_to_turn_it_on(vendor: Vendor) -> None:
    sources = open_sources(feeds_config(vendor.base), {})
    assert sources.running() == [CRYPTO]
    assert sources.off[MASSIVE] == ("off: no key (set $MASSIVE_API_KEY or $POLYGON_API_KEY "
                                    "in the kernel's environment)")
    assert open_sources(feeds_config(vendor.base), {"POLYGON_API_KEY": KEY}).massive is not None


def test_feeds_off_open_nothing(vendor: Vendor) -> None:
    sources = open_sources(FeedsConfig(), {"MASSIVE_API_KEY": KEY})
    assert sources.running() == [] and vendor.requests == []
    assert set(sources.off) == {CRYPTO, MASSIVE, CHAINS}
