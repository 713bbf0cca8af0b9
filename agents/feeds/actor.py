"""The feeds actor: live cross-asset data, vendor bars and option chains onto the bus.

A source: :meth:`FeedsActor.run` polls each configured feed every
``interval_s`` and publishes ``market.cross_asset`` (the Macro analysis's
input) and ``market.bars`` (symbols the bot does not send). Option chains are
fetched ahead (``prefetch``: every followed underlying's chain at start, then
again whenever it is ``cache_age_s`` old, so the first plan of an underlying
finds its chain) and on demand: a ``market.snapshot`` of a followed underlying
means a plan for it is due, so its chain is fetched unless one younger than
``cache_age_s`` is at hand or on its way; at most one chain request per
``min_interval_s``; published on ``market.options_chain``.

The vendors' clients block, so every fetch runs in a daemon thread
(``_threads.py``) bounded by ``timeout_s``: a hanging vendor costs a thread
for that long, never the loop, the gate or a prompt stop. Failures back off and are
journaled as ``feed_degraded`` / ``feed_recovered`` (``health.py``); the
standing of every feed is published on ``feeds.state`` for ``kernel status``
and the dashboard. With the feeds off nothing is imported or opened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from agents.feeds._source import FeedError
from agents.feeds._threads import off_loop
from agents.feeds.config import FeedsConfig
from agents.feeds.health import Backoff, FeedHealth, describe, failed, succeeded
from agents.feeds.messages import FeedCondition, FeedLine, FeedsState
from agents.feeds.parsing import CrossParts, cross_asset
from agents.feeds.slice import FeedsSlice
from agents.feeds.sources import CHAINS, Sources, open_sources
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from planner.contracts import OptionChain
from planner.messages import MarketSnapshot

log = logging.getLogger("agents.feeds")
T = TypeVar("T")


class FeedsActor(Actor):
    name: ClassVar[str] = "feeds"
    subscriptions: ClassVar[tuple[str, ...]] = ("market.snapshot",)

    def __init__(self, *, config: FeedsSlice) -> None:
        super().__init__()
        self.cfg: FeedsConfig = config.feeds
        opts = self.cfg.massive.options
        self._option_symbols = config.option_symbols
        self.underlyings = {s.upper() for s in (opts.underlyings or config.option_symbols)}
        self.sources = Sources()
        self.health: dict[str, FeedHealth] = {}
        self.parts = CrossParts()
        self.looked: dict[str, float] = {}
        """Per feed, when its part of the cross-asset snapshot was fetched."""
        self.chain_at: dict[str, float] = {}
        self._chain_inflight: set[str] = set()
        self._chain_slot = 0.0
        self._chain_tasks: set[asyncio.Task[None]] = set()
        self._state: FeedsState | None = None
        cfg = self.cfg
        self._backoff = Backoff(initial_s=cfg.backoff_initial_s, max_s=cfg.backoff_max_s,
                                repeat_s=cfg.anomaly_repeat_s)

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        self.sources = await asyncio.to_thread(open_sources, self.cfg, None,
                                               self._option_symbols)
        for name in self.sources.running():
            self.health[name] = FeedHealth()
        self.publish_state()

    async def stop(self) -> None:
        for task in list(self._chain_tasks):
            task.cancel()

    async def handle(self, message: Message) -> Sequence[Message]:
        match message:
            case MarketSnapshot(symbol=symbol):
                self._chain_wanted(symbol.upper())
        return ()

    async def run(self) -> None:
        """One loop per polled feed, so a feed that hangs never delays another."""
        async with asyncio.TaskGroup() as group:
            for name in self.sources.running():
                if name != CHAINS:
                    group.create_task(self._poll_loop(name))
                elif self.cfg.massive.options.prefetch and self.underlyings:
                    group.create_task(self._chain_loop())

    async def _poll_loop(self, name: str) -> None:
        next_poll = 0.0
        while True:
            now = self.ctx.clock()
            if now >= next_poll and self.health[name].due(now):
                await self.poll(name)
                next_poll = self.ctx.clock() + self.cfg.interval_s
            wake = max(next_poll, self.health[name].retry_at) - self.ctx.clock()
            await asyncio.sleep(min(max(wake, 0.05), self.cfg.interval_s))

    async def poll(self, name: str) -> None:
        """One fetch of a polled feed, its messages published, its standing updated."""
        now = self.ctx.clock()
        fetch = self.sources.poller(name, now)
        result = await self._guarded(name, fetch)
        if result is None:
            return
        parts, bars = result
        self.looked[name] = self.ctx.clock()
        self.parts = parts.merged_into(self.parts)
        for message in bars:
            self.ctx.publish(message)
        cross = cross_asset(self.parts, now=min(self.looked.values()),
                            stale_after_s=self.cfg.stale_after_s, sources=self.sources.names(
                                sorted(self.looked)))
        if cross is not None:
            self.ctx.publish(cross)

    async def _chain_loop(self) -> None:
        """Keeps every followed chain fresh: fetched at start, again when ``cache_age_s`` old.

        Awake at least once a second, so a clock jump (a laptop's sleep) is noticed soon.
        """
        while True:
            for symbol in sorted(self.underlyings):
                self._chain_wanted(symbol)
            now, age = self.ctx.clock(), self.cfg.massive.options.cache_age_s
            due = min(self.chain_at.get(s, now - age) + age for s in self.underlyings)
            wake = max(due, self.health[CHAINS].retry_at) - now
            await asyncio.sleep(min(max(wake, 0.05), age, 1.0))

    def _chain_wanted(self, symbol: str) -> None:
        if symbol not in self.underlyings or not self.sources.chains \
                or symbol in self._chain_inflight:
            return
        now = self.ctx.clock()
        fresh = now - self.chain_at.get(symbol, -1e18) < self.cfg.massive.options.cache_age_s
        if fresh or not self.health[CHAINS].due(now):
            return
        self.chain_at[symbol] = now
        self._chain_inflight.add(symbol)  # one fetch in flight per underlying
        start = max(now, self._chain_slot)
        self._chain_slot = start + self.cfg.massive.options.min_interval_s
        task = asyncio.create_task(self._fetch_chain(symbol, start - now))
        self._chain_tasks.add(task)
        task.add_done_callback(self._chain_tasks.discard)

    async def _fetch_chain(self, symbol: str, delay_s: float) -> None:
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            massive = self.sources.massive
            assert massive is not None
            chain = await self._guarded(CHAINS, lambda: massive.chain(symbol), subject=symbol)
        finally:
            self._chain_inflight.discard(symbol)
        if chain is None:
            self.chain_at.pop(symbol, None)
            return
        self.chain_at[symbol] = self.ctx.clock()
        self.ctx.publish(chain)

    async def _guarded(self, name: str, fetch: Callable[[], T], *, subject: str = ""
                       ) -> T | None:
        """Run a blocking fetch off the loop within the timeout; a failure is journaled."""
        timeout = self.cfg.timeout_s
        try:
            result = await asyncio.wait_for(off_loop(fetch, name=name), timeout + 1.0)
            if isinstance(result, OptionChain) and not result.contracts:
                raise FeedError(f"massive: the {subject} chain holds no contracts "
                                f"({'; '.join(result.notes) or 'empty'})")
        except FeedError as exc:
            self._failed(name, str(exc), exc.retry_after_s)
            return None
        except TimeoutError:
            self._failed(name, f"no answer within {timeout:g} s", None)
            return None
        except Exception as exc:  # a vendor client's surprise must not stop the feeds
            log.exception("feed %s failed", name)
            self._failed(name, f"{type(exc).__name__}: {exc}", None)
            return None
        self.health[name], anomaly = succeeded(self.health[name], name, now=self.ctx.clock())
        if anomaly is not None:
            self.ctx.publish(anomaly)
        self.publish_state()
        return result

    def _failed(self, name: str, error: str, retry_after_s: float | None) -> None:
        self.health[name], anomaly = failed(self.health[name], name, error, now=self.ctx.clock(),
                                            backoff=self._backoff, retry_after_s=retry_after_s)
        if anomaly is not None:
            self.ctx.publish(anomaly)
        self.publish_state()

    def state(self) -> FeedsState:
        now = self.ctx.clock()
        lines = [FeedLine(name=name, condition="off", detail=why)
                 for name, why in self.sources.off.items()]
        for name, health in self.health.items():
            condition: FeedCondition = ("degraded" if health.degraded else
                         "ok" if health.last_ok is not None else "waiting")
            detail = (describe(health, now) if condition != "ok"
                      else self.sources.what(name, self.underlyings))
            lines.append(FeedLine(name=name, condition=condition, detail=detail[:500]))
        return FeedsState(ts=now, feeds=lines)

    def publish_state(self) -> None:
        """Publish ``feeds.state`` when a feed's condition or detail changed."""
        state = self.state()
        if self._state is not None and self._state.feeds == state.feeds:
            return
        self._state = state
        self.ctx.publish(state)
