"""Copies of facts taken on the gateway's path, dropped from the engine's inbox: a real
kernel, the real risk engine, a bot on loopback (agents/risk/_taken.py).

The engine recognises a copy by identity (the kernel hands its subscription the
very message the gateway took), so a copy that was dropped leaves the queue when a
later copy or the fence arrives, and a later fill equal by value to the dropped one
(same order, quantity, price and time) is applied, not taken for that copy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from agents.risk.actor import RiskEngine
from bus.protocol import Fill, Heartbeat, Message
from kernel.events import OperatorCommandIssued
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Bus,
    Engines,
    ask,
    heartbeat,
    journal_bodies,
    ready_bot,
    until,
)
from tests.support.link import RawBot

pytestmark = pytest.mark.timeout(60)


class HeldEngine(RiskEngine):
    """The real engine with a one-frame inbox, whose bus turn on a heartbeat waits while
    ``go`` is clear: every copy sent meanwhile beyond the one waiting is dropped."""

    inbox_frames = 1
    go: ClassVar[asyncio.Event]
    waiting: ClassVar[asyncio.Event]

    async def handle(self, message: Message) -> Sequence[Message]:
        if isinstance(message, Heartbeat) and not self.go.is_set():
            self.waiting.set()
            await self.go.wait()
        return await super().handle(message)


async def hold(bot: RawBot, seq: int) -> None:
    """Send a heartbeat and wait until the engine's turn on it is held."""
    HeldEngine.go.clear()
    HeldEngine.waiting.clear()
    await bot.send(heartbeat(seq))
    await asyncio.wait_for(HeldEngine.waiting.wait(), 15.0)


def partial(ts: float) -> Fill:
    return Fill(request_id="buy-1", symbol="BTCUSDT", side="buy", qty=0.01, price=50_000.0,
                ts=ts)


async def held_kernel(start_kernel: Any) -> tuple[Engines, KernelHarness, RawBot]:
    """A kernel whose engine's turns can be held, and a bot that said hello."""
    HeldEngine.go, HeldEngine.waiting = asyncio.Event(), asyncio.Event()
    HeldEngine.go.set()
    engines = Engines(HeldEngine)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    return engines, harness, await ready_bot(harness, engines)


def btc(engines: Engines) -> float:
    held = engines.current.state.positions.get("BTCUSDT")
    return 0.0 if held is None else float(held.qty)


async def test_a_fill_equal_to_one_whose_copy_was_dropped_is_applied(
    start_kernel: Any,
) -> None:
    engines, harness, bot = await held_kernel(start_kernel)
    facts = harness.kernel.gateway.facts
    try:
        assert (await ask(bot, "buy-1", qty=0.02)).verdict == "ALLOW"
        await until(lambda: facts.behind() == 0 and not len(engines.current._taken),
                    "the engine caught up")
        ts = time.time()
        await hold(bot, 2)  # taken on the path; its copy's turn held
        await bot.send(heartbeat(3))  # taken; its copy fills the inbox
        await bot.send(partial(ts))  # taken and applied; its copy dropped
        await ask(bot, "probe-1")  # the gateway has read all three
        assert btc(engines) == pytest.approx(0.01)
        HeldEngine.go.set()  # the engine reads on, learns of the drop: a new fence
        await until(lambda: engines.current.facts_epoch == 1
                    and len(engines.current._taken) == 1, "the drop noticed")
        await hold(bot, 4)  # refused: the new fence, by the bus, its turn held
        await bot.send(partial(ts))  # equal by value to the dropped copy's fill; by the bus
        await ask(bot, "probe-2")
        assert btc(engines) == pytest.approx(0.01)  # not taken on the path
        HeldEngine.go.set()
        await until(lambda: btc(engines) == pytest.approx(0.02), "the second fill applied")
        await until(lambda: not len(engines.current._taken), "the dropped copy purged")
        await asyncio.sleep(0.2)
        assert btc(engines) == pytest.approx(0.02)  # once
    finally:
        bot.close()
    fills = [f for f in journal_bodies(harness, "order.fill") if f["request_id"] == "buy-1"]
    assert len(fills) == 2


async def test_at_the_fence_every_copy_still_queued_was_dropped(start_kernel: Any) -> None:
    """The copies of a burst taken on the path were dropped but the first; the fence,
    sent after them all, clears them, and taking on the path goes on."""
    engines, harness, bot = await held_kernel(start_kernel)
    facts = harness.kernel.gateway.facts
    try:
        await until(lambda: facts.behind() == 0 and not len(engines.current._taken),
                    "the engine caught up")
        await hold(bot, 2)
        for seq in range(3, 9):  # taken; the first copy fills the inbox, five dropped
            await bot.send(heartbeat(seq))
        await ask(bot, "probe-1")
        assert len(engines.current._taken) == 7
        HeldEngine.go.set()
        await until(lambda: engines.current.facts_epoch == 1
                    and len(engines.current._taken) == 5, "the drop noticed")
        await bot.send(heartbeat(9))  # the new fence, by the bus
        await until(lambda: not len(engines.current._taken), "the dropped copies purged")
        taken = facts.taken
        for seq in range(10, 30):
            await bot.send(heartbeat(seq))
            await ask(bot, f"after-{seq}")
            if facts.taken > taken:
                break
        assert facts.taken > taken, "no fact taken on the path after the fence"
    finally:
        bot.close()


async def test_an_operators_halt_waits_past_a_full_inbox_and_is_taken(start_kernel: Any) -> None:
    """The engine's inbox is at its bound (one frame here; 200,000 in a kernel a bot
    floods): a frame on any other topic would be dropped, an operator's halt waits."""
    engines, harness, bot = await held_kernel(start_kernel)
    bus = Bus(harness)
    try:
        await hold(bot, 2)  # the engine's turn held
        await bot.send(heartbeat(3))  # its copy fills the inbox
        await ask(bot, "probe-1")  # the gateway has read it
        engine = engines.current
        assert len(engine.ctx.inbox()) == 1
        halt = OperatorCommandIssued(action="halt", reason="flooded", user="ana", ts=time.time())
        await bus.publish_until(halt, lambda: len(engine.ctx.inbox()) > 1,
                                "the halt queued past the bound")
        HeldEngine.go.set()
        await until(lambda: engine.state.trading_state == "HALTED", "the halt taken")
        denied = await ask(bot, "after-halt", qty=0.001)
        assert (denied.verdict, denied.code) == ("DENY", "halted")
    finally:
        bus.close()
        bot.close()
