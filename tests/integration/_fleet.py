"""Builders for the fleet's integration tests: every bot's risk engine, bots that speak.

``FleetEngines`` gives the kernel one factory per configured bot (as ``kernel run``
builds them: ``kernel/registry.py`` ``risk_engines``, one shared fleet gate), with
the risk tests' short timings, and remembers the running engine of each bot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec

from agents.risk.actor import RiskEngine
from bus.protocol import Heartbeat, OrderDecision
from kernel.actor import Actor
from kernel.registry import risk_engines
from kernel.settings import Settings
from tests.integration._risk_link import RISK_YAML, heartbeat, until
from tests.support.link import RawBot, order

FLEET_RISK_YAML = RISK_YAML.rstrip(" ") + """\
    bots:
      qe-2: {max_order_notional: 1000}
    portfolio:
      max_gross_notional: 6000
      max_notional_per_symbol: 5500
      max_daily_loss: {usdt: 400}
    """
"""Each bot may hold 5,000 USDT of BTC; together they may hold 6,000 of anything."""


class FleetEngines:
    """The specs for ``start_kernel(actors=fleet.specs)``; ``fleet[bot_id]`` is the
    bot's running engine."""

    def __init__(self, bots: list[str], **options: Any) -> None:
        self.bots = bots
        self.made: dict[str, list[RiskEngine]] = {b: [] for b in bots}
        self._options = {"tick_s": 0.05, "publish_every_s": 0.5, **options}
        self._factories: list[Callable[[], Actor]] | None = None

    @property
    def specs(self) -> list[_One]:
        return [_One(self, i) for i in range(len(self.bots))]

    def factory(self, settings: Settings, index: int) -> Callable[[], Actor]:
        if self._factories is None:
            self._factories = risk_engines(settings)
        shipped = self._factories[index]
        assert isinstance(shipped, partial)
        made = self.made[self.bots[index]]

        def make() -> Actor:
            engine = shipped.func(**shipped.keywords, **self._options)
            made.append(engine)
            return engine
        return make

    def __getitem__(self, bot_id: str) -> RiskEngine:
        return self.made[bot_id][-1]


class _One:
    def __init__(self, fleet: FleetEngines, index: int) -> None:
        self._fleet, self._index = fleet, index

    def bind(self, settings: Settings) -> Callable[[], Actor]:
        return self._fleet.factory(settings, self._index)


def beat_of(bot_id: str, seq: int, **fields: Any) -> Heartbeat:
    return msgspec.structs.replace(heartbeat(seq, **fields), bot_id=bot_id)


async def ready(endpoint: str, fleet: FleetEngines, bot_id: str, **fields: Any) -> RawBot:
    """A bot that said hello as ``bot_id`` and whose first heartbeat its engine took."""
    bot = RawBot(endpoint)
    await bot.greet(bot_id)
    await beat(bot, fleet, bot_id, 1, **fields)
    return bot


async def beat(bot: RawBot, fleet: FleetEngines, bot_id: str, seq: int, **fields: Any) -> None:
    before = fleet[bot_id].state.last_heartbeat_ts
    await bot.send(beat_of(bot_id, seq, **fields))
    await until(lambda: fleet[bot_id].state.last_heartbeat_ts != before,
                f"{bot_id} heartbeat {seq} taken")


async def ask(bot: RawBot, bot_id: str, request_id: str, **fields: Any) -> OrderDecision:
    await bot.send(order(request_id, bot_id=bot_id, **fields))
    while True:
        reply = await bot.recv()
        if isinstance(reply, OrderDecision):
            assert reply.request_id == request_id
            return reply


def now() -> float:
    return time.time()


class Shipped:
    """One of the actors ``make(settings)`` ships (``kernel/registry.py``), by index."""

    def __init__(self, make: Callable[[Settings], list[Callable[[], Actor]]],
                 index: int) -> None:
        self._make, self._index = make, index

    def bind(self, settings: Settings) -> Callable[[], Actor]:
        return self._make(settings)[self._index]
