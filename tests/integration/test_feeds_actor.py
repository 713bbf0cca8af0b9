"""The feeds actor against the local vendor server: what it publishes, how it fails and recovers.

Real vendor clients over loopback HTTP; the actor's context records what it
publishes and its clock is set by the test, so backoff and the rate limits of
anomalies and chain requests are checked without waiting for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, cast

import msgspec
import pytest

from agents.feeds.actor import FeedsActor
from agents.feeds.config import FeedsConfig
from agents.feeds.messages import FeedsState
from agents.feeds.slice import FeedsSlice
from bus.protocol import Bars, Message
from kernel.actor import ActorContext, KernelServices
from kernel.events import AnomalyDetected
from planner.config import MacroConfig
from planner.contracts import OptionChain
from planner.macro import analyze_macro
from planner.messages import CrossAssetSnapshot, MarketSnapshot
from tests.support.fake_vendors import Vendor, fake_vendors

KEY = "test-key-actor-51c0"
pytestmark = pytest.mark.timeout(60)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    def emit(self, message: Message, *, topic: str | None = None) -> bytes:
        self.sent.append(message)
        return b""

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.sent if isinstance(m, kind)]

    def anomalies(self, kind: str) -> list[AnomalyDetected]:
        return [m for m in self.of(AnomalyDetected) if m.kind == kind]


class World:
    def __init__(self, vendor: Vendor) -> None:
        self.vendor = vendor
        self.now = time.time()
        self.recorder = Recorder()

    def config(self, **extra: Any) -> FeedsConfig:
        base = self.vendor.base
        raw: dict[str, Any] = {
            "enabled": True, "timeout_s": 1, "backoff_initial_s": 5, "anomaly_repeat_s": 300,
            "crypto": {"enabled": True, "base_url": base, "bar_symbols": ["ETH/USDT"]},
            "massive": {"enabled": True, "base_url": base,
                        "options": {"underlyings": ["SPY"], "min_interval_s": 0.2}}}
        raw.update(extra)
        return msgspec.convert(raw, FeedsConfig)

    async def start(self, config: FeedsConfig, monkeypatch: pytest.MonkeyPatch) -> FeedsActor:
        monkeypatch.setenv("MASSIVE_API_KEY", KEY)
        actor = FeedsActor(config=FeedsSlice(feeds=config))
        services = KernelServices(set_gate=lambda _: None, send_command=lambda *a, **k: 0,
                                  request_stop=lambda _: None)
        await actor.start(ActorContext(name=actor.name, emitter=cast(Any, self.recorder),
                                       journal=cast(Any, None), clock=lambda: self.now,
                                       services=services))
        return actor


@pytest.fixture
def world() -> Iterator[World]:
    with fake_vendors() as vendor:
        yield World(vendor)


def spy_snapshot(now: float) -> MarketSnapshot:
    return MarketSnapshot(symbol="SPY", ts=now, asset_class="stock", price=690.0, hod=692.0,
                          lod=686.0, atr_30d=8.0)


async def test_off_the_actor_opens_nothing_and_says_why(world: World,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(FeedsConfig(), monkeypatch)
    await asyncio.wait_for(actor.run(), 1)  # a source with nothing to do returns at once
    await actor.handle(spy_snapshot(world.now))
    (state,) = world.recorder.of(FeedsState)
    assert [(f.name, f.condition) for f in state.feeds] == [
        ("crypto", "off"), ("massive", "off"), ("chains", "off")]
    assert state.feeds[0].detail == "off (feeds.yaml enabled: false)"
    assert world.vendor.requests == []


async def test_a_poll_publishes_cross_asset_data_and_bars(world: World,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(world.config(), monkeypatch)
    await actor.poll("crypto")
    await actor.poll("massive")
    (bars,) = world.recorder.of(Bars)
    assert bars.symbol == "ETHUSDT" and bars.atr_30d is not None
    cross = world.recorder.of(CrossAssetSnapshot)[-1]
    assert cross.source == "ccxt:binance+massive" and not cross.stale
    assert cross.as_of is not None and cross.ts == world.now
    assert cross.vix == pytest.approx(14.0) and cross.yield_change_bp == pytest.approx(-7.0)
    for asset_class in ("stock", "crypto"):
        verdict = analyze_macro(cross, asset_class, MacroConfig())
        assert verdict.direction != "NEUTRAL" and verdict.confidence > 0
    state = world.recorder.of(FeedsState)[-1]
    assert {f.name: f.condition for f in state.feeds} == {
        "crypto": "ok", "massive": "ok", "chains": "waiting"}
    assert all(KEY not in str(m) for m in world.recorder.sent)


async def test_a_failing_feed_backs_off_and_is_journaled_once_then_recovers(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(world.config(), monkeypatch)
    world.vendor.faults["/v2/aggs"] = "429"
    world.vendor.retry_after_s = 42
    await actor.poll("massive")
    (degraded,) = world.recorder.anomalies("feed_degraded")
    assert "rate limited" in degraded.detail and "next try in 42 s" in degraded.detail
    assert actor.health["massive"].retry_at == world.now + 42
    assert world.recorder.of(FeedsState)[-1].feeds[1].condition == "degraded"
    world.now += 43
    await actor.poll("massive")
    assert len(world.recorder.anomalies("feed_degraded")) == 1  # said once per repeat window
    world.vendor.faults.clear()
    world.now += 100
    await actor.poll("massive")
    (recovered,) = world.recorder.anomalies("feed_recovered")
    assert "after 143 s and 2 failures" in recovered.detail
    assert KEY not in degraded.detail


async def test_a_hanging_vendor_never_blocks_the_loop(world: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(world.config(), monkeypatch)
    world.vendor.faults["/api/v3/klines"] = "hang"
    ticks = 0
    poll = asyncio.create_task(actor.poll("crypto"))
    while not poll.done():
        await asyncio.sleep(0.05)
        ticks += 1
    assert ticks >= 10  # the loop ran all along (a timeout of 1 s is about 20 ticks)
    (degraded,) = world.recorder.anomalies("feed_degraded")
    assert "crypto" in degraded.detail and not world.recorder.of(CrossAssetSnapshot)


async def wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_chain_is_fetched_when_a_plan_is_due_and_then_cached(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(world.config(), monkeypatch)
    await actor.handle(MarketSnapshot(symbol="QQQ", ts=world.now, asset_class="stock",
                                      price=610.0, hod=611.0, lod=600.0, atr_30d=7.0))
    await actor.handle(spy_snapshot(world.now))
    await actor.handle(spy_snapshot(world.now))  # in flight: not asked twice
    await wait_for(lambda: world.recorder.of(OptionChain))
    (chain,) = world.recorder.of(OptionChain)
    assert chain.underlying == "SPY" and len(chain.contracts) == 240 and chain.source == "massive"
    world.now += 30
    await actor.handle(spy_snapshot(world.now))  # younger than cache_age_s (60 s)
    await asyncio.sleep(0.3)
    assert world.vendor.count("/v3/snapshot/options/SPY") == 1
    assert world.vendor.count("/v3/snapshot/options/QQQ") == 0  # not followed
    world.now += 31
    await actor.handle(spy_snapshot(world.now))
    await wait_for(lambda: len(world.recorder.of(OptionChain)) == 2)


async def test_an_empty_chain_is_not_published_and_is_journaled(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(world.config(), monkeypatch)
    world.vendor.faults["/v3/snapshot/options"] = "empty"
    await actor.handle(spy_snapshot(world.now))
    await wait_for(lambda: world.recorder.anomalies("feed_degraded"))
    (degraded,) = world.recorder.anomalies("feed_degraded")
    assert "SPY chain holds no contracts" in degraded.detail
    assert world.recorder.of(OptionChain) == []


async def test_with_chains_off_a_due_plan_fetches_nothing(world: World,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = world.config(massive={"enabled": True, "base_url": world.vendor.base,
                                   "options": {"enabled": False, "underlyings": ["SPY"]}})
    actor = await world.start(config, monkeypatch)
    assert await actor.handle(spy_snapshot(world.now)) == ()
    await asyncio.sleep(0.2)
    assert world.vendor.count("/v3/snapshot/options") == 0
    state = world.recorder.of(FeedsState)[-1]
    assert {f.name: f.detail for f in state.feeds}["chains"] == (
        "off (feeds.yaml massive.options.enabled: false)")


def chain_config(world: World, **options: Any) -> FeedsConfig:
    return world.config(massive={"enabled": True, "base_url": world.vendor.base, "options": {
        "underlyings": ["SPY", "QQQ"], "min_interval_s": 0.2, "page_limit": 100, **options}})


async def test_followed_chains_are_fetched_at_start_and_again_when_cache_age_old(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(chain_config(world), monkeypatch)
    running = asyncio.create_task(actor.run())
    try:
        await wait_for(lambda: len(world.recorder.of(OptionChain)) == 2)  # no plan asked yet
        chains = {c.underlying: c for c in world.recorder.of(OptionChain)}
        assert sorted(chains) == ["QQQ", "SPY"] and len(chains["SPY"].contracts) == 240
        assert world.vendor.count("/v3/snapshot/options/SPY") == 3  # 240 contracts, pages of 100
        world.now += 30
        await actor.handle(spy_snapshot(world.now))  # a plan is due: the chain is fresh
        await asyncio.sleep(1.5)
        assert len(world.recorder.of(OptionChain)) == 2
        world.now += 31  # both are cache_age_s (60 s) old: fetched again, unasked
        await wait_for(lambda: len(world.recorder.of(OptionChain)) == 4)
        assert world.vendor.count("/v3/snapshot/options/SPY") == 6
        await asyncio.sleep(1.5)
        assert len(world.recorder.of(OptionChain)) == 4  # once each, not once a wake-up
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_a_failed_prefetch_backs_off_then_fetches(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.vendor.faults["/v3/snapshot/options"] = "500"
    actor = await world.start(chain_config(world, underlyings=["SPY"]), monkeypatch)
    running = asyncio.create_task(actor.run())
    try:
        await wait_for(lambda: world.recorder.anomalies("feed_degraded"))
        asked = world.vendor.count("/v3/snapshot/options/SPY")
        await asyncio.sleep(1.5)
        assert world.vendor.count("/v3/snapshot/options/SPY") == asked  # waits out the backoff
        del world.vendor.faults["/v3/snapshot/options"]
        world.now += 6  # backoff_initial_s is 5
        await wait_for(lambda: world.recorder.of(OptionChain))
        assert world.recorder.anomalies("feed_recovered")
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_with_prefetch_off_chains_wait_for_a_plan(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = await world.start(chain_config(world, prefetch=False), monkeypatch)
    running = asyncio.create_task(actor.run())
    try:
        await wait_for(lambda: world.recorder.of(CrossAssetSnapshot))
        await asyncio.sleep(0.5)
        assert world.vendor.count("/v3/snapshot/options") == 0
        await actor.handle(spy_snapshot(world.now))
        await wait_for(lambda: world.recorder.of(OptionChain))
        assert [c.underlying for c in world.recorder.of(OptionChain)] == ["SPY"]
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
