"""Facts queued for the risk engine while it started: an order decided before they
reach it is journaled as decided ahead of them (``order.ahead``), so ``kernel
replay`` decides it on the facts the engine had taken. A real kernel, the real
engine restarted in it, a bot on loopback (agents/risk/_taken.py, ``queued``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from agents.risk.actor import RiskEngine
from bus.protocol import Heartbeat, Message
from kernel.actor import ActorContext
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    ask,
    heartbeat,
    journal_bodies,
    ready_bot,
    until,
)

pytestmark = pytest.mark.timeout(60)

CRASH = 99
"""The heartbeat seq on which the engine crashes, so the kernel starts it again."""


class SlowStart(RiskEngine):
    """Crashes on heartbeat ``CRASH``; its next start waits for ``started``, and then
    its turns on heartbeats wait for ``go``: facts queue in its inbox meanwhile."""

    starts: ClassVar[int]
    started: ClassVar[asyncio.Event]
    go: ClassVar[asyncio.Event]

    async def start(self, ctx: ActorContext) -> None:
        SlowStart.starts += 1
        if SlowStart.starts > 1:
            await SlowStart.started.wait()
        await super().start(ctx)

    async def handle(self, message: Message) -> Sequence[Message]:
        if isinstance(message, Heartbeat):
            if message.seq == CRASH:
                raise RuntimeError("deliberate crash")
            await SlowStart.go.wait()
        return await super().handle(message)


def aheads(harness: KernelHarness) -> dict[str, int]:
    return {b["request_id"]: b["facts"] for b in journal_bodies(harness, "order.ahead")}


async def test_an_order_decided_before_the_facts_queued_at_start_arrive_is_journaled_ahead(
    start_kernel: Any,
) -> None:
    SlowStart.starts, SlowStart.started, SlowStart.go = 0, asyncio.Event(), asyncio.Event()
    SlowStart.go.set()
    engines = Engines(SlowStart)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    facts = harness.kernel.gateway.facts
    bot = await ready_bot(harness, engines)
    try:
        await bot.send(heartbeat(CRASH))
        await until(lambda: SlowStart.starts == 2, "the engine started again")
        SlowStart.go.clear()
        for seq in (2, 3, 4):  # queued in the new engine's inbox while it starts
            await bot.send(heartbeat(seq))
        closed = await ask(bot, "while-starting", qty=0.001)  # the gateway read all three
        assert closed.code == "risk_engine_unavailable"
        SlowStart.started.set()
        engine = engines.current
        for attempt in range(500):  # the gate opens once the engine is restored
            first = await ask(bot, f"first-{attempt}", qty=0.001)
            if first.code != "risk_engine_unavailable":
                break
            await asyncio.sleep(0.01)
        # decided before the engine took heartbeats 2-4: still awaiting reconciliation
        assert (first.verdict, first.code) == ("DENY", "reducing_only"), first.reason
        assert engine.facts_queued == 3 and facts.behind() == 0
        await bot.send(heartbeat(5))  # the fence, by the bus
        assert (await ask(bot, "second", qty=0.001)).code == "reducing_only"
        SlowStart.go.set()  # the engine works off its inbox
        await until(lambda: engine.facts_queued == 0 and facts.behind() == 0, "caught up")
        assert (await ask(bot, "caught-up", qty=0.001)).verdict == "ALLOW"  # reconciled
    finally:
        bot.close()
    rows = aheads(harness)
    assert rows[first.request_id] == 3  # heartbeats 2-4: journaled, not taken
    assert rows["second"] == 4  # and the fence
    assert "caught-up" not in rows
