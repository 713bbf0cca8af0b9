"""Builders for the risk engine's integration tests: limits, beats, a bus client.

Orders reach the gate synchronously through the gateway, while heartbeats and
fills reach the engine over the bus, a moment later. Tests therefore wait for
the engine to have taken a fact (:func:`beat`, :func:`until`) before they ask.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import zmq
import zmq.asyncio

from agents.risk.actor import RiskEngine
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, Message, OrderDecision, Position
from kernel.journal import read_journal
from kernel.registry import actor_factory
from kernel.settings import Settings
from tests.conftest import KernelHarness
from tests.support.link import RawBot, order

RISK_YAML = """\
    timezone: UTC
    max_daily_loss: {usdt: 300}
    max_drawdown: {usdt: 500}
    max_trailing_drawdown: {pct: 10}
    max_consecutive_losses: 3
    on_loss_halt: close_all
    close_timeout_s: 30
    max_notional_per_symbol: 5000
    max_leverage: 2
    max_order_notional: 2500
    max_price_deviation_pct: 1.5
    max_orders_per_second: 1000
    max_open_orders: 20
    open_order_ttl_s: 60
    stale_tick_s: 5
    symbols:
      BTCUSDT: {max_order_qty: 0.05}
      ETHUSDT: {max_order_qty: 1}
    reconcile: {grace_s: 5}
    """
"""Round numbers that make each limit easy to reach on purpose."""

MARKS = {"BTCUSDT": 50_000.0, "ETHUSDT": 3_000.0}


def heartbeat(seq: int, *, equity: float = 10_000.0,
              positions: Iterable[tuple[str, float, float, float]] = (),
              marks: dict[str, float] | None = None, tick_age_s: float = 0.0) -> Heartbeat:
    """``positions`` as (symbol, qty, avg_price, mark_price)."""
    held = [Position(symbol=s, qty=q, avg_price=a, mark_price=m) for s, q, a, m in positions]
    now = time.time()
    return Heartbeat(bot_id="qe-1", seq=seq, ts=now, uptime_s=seq, equity=equity,
                     realized_pnl=0.0, unrealized_pnl=sum(q * (m - a) for _, q, a, m in positions),
                     positions=held, marks=dict(MARKS if marks is None else marks),
                     last_tick_ts=now - tick_age_s)


class Engines:
    """A factory for the kernel that remembers the instances it made.

    The kernel builds one instance to read the actor's name and a fresh one per
    (re)start, so the running engine is the last one made. ``start_kernel`` binds
    it to the test kernel's settings first, so each engine gets that risk.yaml.
    """

    def __init__(self, kind: type[RiskEngine] = RiskEngine, **options: Any) -> None:
        self.made: list[RiskEngine] = []
        self._kind = kind
        self._options = {"tick_s": 0.05, "publish_every_s": 0.5, **options}
        self._factory: Callable[[], RiskEngine] | None = None

    def bind(self, settings: Settings) -> Engines:
        self._factory = actor_factory(self._kind, settings, **self._options)
        return self

    def __call__(self) -> RiskEngine:
        if self._factory is None:
            raise RuntimeError("Engines called before start_kernel bound it to its settings")
        engine = self._factory()
        self.made.append(engine)
        return engine

    @property
    def current(self) -> RiskEngine:
        return self.made[-1]


async def until(predicate: Callable[[], object], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.005)


async def ready_bot(harness: KernelHarness, engines: Engines,
                    first: Heartbeat | None = None) -> RawBot:
    """A bot that said hello as ``qe-1`` and whose first heartbeat the engine has taken
    (flat, 10,000 USDT unless ``first`` says otherwise)."""
    raw = RawBot(harness.endpoints["bot_link"])
    await raw.greet()
    await beat(raw, engines, first or heartbeat(1))
    return raw


async def beat(bot: RawBot, engines: Engines, hb: Heartbeat) -> None:
    """Send a heartbeat and wait until the engine has taken it."""
    before = engines.current.state.last_heartbeat_ts
    await bot.send(hb)
    await until(lambda: engines.current.state.last_heartbeat_ts != before,
                f"heartbeat {hb.seq} taken")


async def fill(bot: RawBot, engines: Engines, request_id: str, *, side: str = "buy",
               qty: float = 0.1, price: float = 50_000.0, symbol: str = "BTCUSDT") -> None:
    """Report an execution and wait until the engine's ledger has booked it."""
    before = engines.current.state.positions.get(symbol)
    await bot.send(Fill(request_id=request_id, symbol=symbol, side=side,  # type: ignore[arg-type]
                        qty=qty, price=price, ts=time.time()))
    await until(lambda: engines.current.state.positions.get(symbol) != before,
                f"fill {request_id} booked")


async def ask(bot: RawBot, request_id: str, **fields: Any) -> OrderDecision:
    """One order through the bot link; commands that arrive meanwhile are skipped."""
    await bot.send(order(request_id, **fields))
    while True:
        reply = await bot.recv()
        if isinstance(reply, OrderDecision):
            assert reply.request_id == request_id
            return reply


class Bus:
    """Publishes on the kernel's bus from outside, as an operator tool would."""

    def __init__(self, harness: KernelHarness) -> None:
        self._pub = zmq.asyncio.Context.instance().socket(zmq.PUB)
        self._pub.linger = 0
        self._pub.connect(harness.endpoints["bus_publish"])

    async def publish_until(self, message: Message, done: Callable[[], object],
                            what: str) -> None:
        """Re-send until it had its effect: a PUB drops what precedes the subscription."""
        deadline = time.monotonic() + 5
        while not done():
            assert time.monotonic() < deadline, f"no effect within 5 s: {what}"
            await self._pub.send_multipart((message.topic.encode(), encode(message)))
            await asyncio.sleep(0.02)

    def close(self) -> None:
        self._pub.close(linger=0)


def journal_bodies(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]
