"""Facts taken on the gateway's path (kernel.gate.FactTaker, agents/risk/_taken.py):
a real kernel, the real risk engine, a bot on loopback and the real journal.

The gateway offers each heartbeat, fill and order update to the engine where it reads
it, when the engine has taken every earlier one; the engine applies it there unless
the pure result carries events. So the next order is decided on it (no
``order.ahead`` row), its bus copy is not applied twice, and what the bus turn does
besides applying it (the state save) still happens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import msgspec
import pytest

from agents.risk.actor import RiskEngine
from agents.risk.replay_journal import replay_window
from bus.client import AsyncBotLink
from bus.protocol import Fill, Message, OrderUpdate
from kernel.gateway import Gateway
from kernel.journal import read_journal
from scripts.bench_gate import BENCH_LIMITS
from tests.conftest import KernelHarness
from tests.integration._fleet import FLEET_RISK_YAML, FleetEngines, beat_of, ready
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    ask,
    beat,
    heartbeat,
    journal_bodies,
    ready_bot,
    until,
)
from tests.support.link import RawBot, order

pytestmark = pytest.mark.timeout(60)

WIDE_YAML = "timezone: UTC\n" + BENCH_LIMITS
"""The limits of ``bench_gate.py``, which allow every order of the 64-in-flight run."""


def gateway_of(harness: KernelHarness) -> Gateway:
    gateway = harness.kernel.gateway
    assert gateway is not None
    return gateway


def seq_of(harness: KernelHarness, topic: str, **match: Any) -> list[int]:
    """Journal seqs of ``topic``'s rows whose body has every ``match`` field."""
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)
    return [r.seq for r in rows
            if all(msgspec.msgpack.decode(r.payload).get(k) == v for k, v in match.items())]


async def caught_up(harness: KernelHarness, engines: Engines) -> None:
    """Every fact sent so far taken and every taken fact's bus copy come back."""
    facts = gateway_of(harness).facts
    await until(lambda: facts.behind() == 0 and not len(engines.current._taken),
                "the engine caught up with the facts")


async def test_a_fact_is_taken_on_the_path_when_the_engine_has_caught_up(
    start_kernel: Any,
) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)  # its first beat: the fence, by the bus
    try:
        await caught_up(harness, engines)
        facts = gateway_of(harness).facts
        offered, taken = facts.offered, facts.taken
        before = engines.current.state.last_heartbeat_ts
        await bot.send(heartbeat(2, marks={"BTCUSDT": 50_100.0, "ETHUSDT": 3_000.0}))
        decision = await ask(bot, "after-beat")
        # decided on the beat: the engine took it before the order was read
        assert engines.current.state.last_heartbeat_ts != before
        assert decision.verdict == "ALLOW"
        assert (facts.offered, facts.taken) == (offered + 1, taken + 1)
    finally:
        bot.close()
    assert journal_bodies(harness, "order.ahead") == []
    # the journal holds the beat before the order: the order the engine took them in
    beat_row = seq_of(harness, "bot.heartbeat", seq=2)
    assert beat_row and beat_row[0] < seq_of(harness, "order.request",
                                             request_id="after-beat")[0]


async def test_a_fill_taken_on_the_path_is_applied_once_and_saved_by_the_timer(
    start_kernel: Any,
) -> None:
    """Taken where the gateway journaled it, the fill waits for the timer's save (no
    save can lie between its row and its taking, so a restart replays it)."""
    engines = Engines(save_every_s=0.5)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    try:
        assert (await ask(bot, "buy-1", qty=0.02)).verdict == "ALLOW"
        await caught_up(harness, engines)
        taken = gateway_of(harness).facts.taken
        await bot.send(Fill(request_id="buy-1", symbol="BTCUSDT", side="buy", qty=0.02,
                            price=50_000.0, ts=time.time()))
        await ask(bot, "after-fill")  # the fill was read, and taken, before this order
        assert gateway_of(harness).facts.taken == taken + 1
        assert float(engines.current.state.positions["BTCUSDT"].qty) == pytest.approx(0.02)
        await caught_up(harness, engines)  # its bus copy came back: not applied again
        assert float(engines.current.state.positions["BTCUSDT"].qty) == pytest.approx(0.02)
        fill_row = seq_of(harness, "order.fill", request_id="buy-1")[0]
        await until(lambda: any(s > fill_row for s in seq_of(harness, "risk.saved")),
                    "the state saved after the fill", timeout_s=15.0)
    finally:
        bot.close()
    saves = [s for s in journal_bodies(harness, "risk.saved")]
    held = [s["state"]["positions"].get("BTCUSDT") for s in saves]
    assert any(p is not None and float(p["qty"]) == pytest.approx(0.02) for p in held)


class CountingEngine(RiskEngine):
    """The real engine, noting every order update its bus subscription hands it."""

    updates: ClassVar[list[str]] = []

    async def handle(self, message: Message) -> Sequence[Message]:
        if isinstance(message, OrderUpdate):
            self.updates.append(message.request_id)
        return await super().handle(message)


async def test_an_update_taken_on_the_path_never_wakes_the_engine_again(
    start_kernel: Any,
) -> None:
    """Its bus copy, still held when the engine took it, is kept from the engine's
    subscription alone: every other listener and the journal have it."""
    CountingEngine.updates.clear()
    engines = Engines(CountingEngine)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    gateway = gateway_of(harness)
    listener = gateway._emitter.publisher.subscribe_local(("order.update",))
    try:
        assert (await ask(bot, "kept-1", qty=0.02)).verdict == "ALLOW"
        await caught_up(harness, engines)
        taken = gateway.facts.taken
        assert "kept-1" in engines.current.state.open_orders
        await bot.send(OrderUpdate(request_id="kept-1", status="cancelled", ts=time.time(),
                                   remaining_qty=0.02))
        await ask(bot, "after-update")  # the update was read, and taken, before this order
        assert gateway.facts.taken == taken + 1
        assert "kept-1" not in engines.current.state.open_orders
        assert not len(engines.current._taken)  # no copy to wait for
        await until(lambda: [f for f in listener._frames if b"kept-1" in f.payload],
                    "the copy reached the other listener")
        await asyncio.sleep(0.3)  # a copy handed to the engine would have come by now
        assert gateway.facts.behind() == 0
    finally:
        listener.close()
        bot.close()
    assert "kept-1" not in CountingEngine.updates
    assert [b["request_id"] for b in journal_bodies(harness, "order.update")] == ["kept-1"]


async def test_a_fact_with_events_is_left_to_the_bus_and_later_ones_wait(
    start_kernel: Any,
) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    held = ("BTCUSDT", 0.1, 50_000.0)
    bot = await ready_bot(harness, engines, heartbeat(1, positions=[(*held, 50_000.0)]))
    try:
        await caught_up(harness, engines)
        facts = gateway_of(harness).facts
        offered, taken = facts.offered, facts.taken
        # a 350 USDT loss reaches max_daily_loss (300): the trip is an event to save and
        # publish first, so the engine leaves the beat to the bus; the beat after it and
        # the order come before the engine has caught up (one send: one wake-up)
        marks = {"BTCUSDT": 46_500.0, "ETHUSDT": 3_000.0}
        for seq in (2, 3):
            await bot.send(heartbeat(seq, equity=9_650.0, marks=marks,
                                     positions=[(*held, 46_500.0)]))
        decision = await ask(bot, "after-loss")
        await until(lambda: journal_bodies(harness, "risk.limit"), "the trip journaled")
        await caught_up(harness, engines)
    finally:
        bot.close()
    # the trip's beat was offered and refused; the next one was offered only if the
    # engine had caught up by then (the rule itself: tests/unit/test_gateway_facts.py)
    assert facts.offered - offered in (1, 2)
    assert facts.taken - taken <= facts.offered - offered - 1
    assert engines.current.state.trading_state == "HALTED"
    ahead = journal_bodies(harness, "order.ahead")
    if decision.verdict == "ALLOW":  # decided before the engine took the trip's beat
        assert [r["request_id"] for r in ahead] == ["after-loss"]


async def test_at_64_in_flight_no_order_is_ahead_and_replay_decides_every_one_alike(
    start_kernel: Any,
) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=WIDE_YAML)
    bot = await ready_bot(harness, engines)
    bot.close()
    orders = [order(f"fly-{i:04d}", qty=0.001) for i in range(640)]
    start = time.time() - 60
    async with AsyncBotLink(harness.endpoints["bot_link"], bot_id="qe-1",
                            version="test") as link:
        await link.hello(timeout_s=10)

        async def worker(share: list[Any]) -> None:
            for one in share:
                decision = await link.can_execute(one, timeout_s=20)
                assert decision.verdict == "ALLOW", decision.reason
                link.report_order_update(OrderUpdate(
                    request_id=one.request_id, status="cancelled", ts=time.time(),
                    remaining_qty=one.qty, bot_id="qe-1"))

        await asyncio.gather(*(worker(orders[w::64]) for w in range(64)))
    await caught_up(harness, engines)
    assert gateway_of(harness).facts.taken >= 600  # nearly every update on the path
    assert journal_bodies(harness, "order.ahead") == []
    await harness.stop()
    found = replay_window(harness.kernel.settings.journal_path, start, time.time() + 60,
                          harness.kernel.settings.risk)
    assert found.counts.orders >= 640
    assert found.exact and found.counts.reason_differs == 0
    assert found.counts.same == found.counts.orders


async def test_in_a_fleet_each_fact_goes_to_its_own_bots_engine(start_kernel: Any) -> None:
    fleet = FleetEngines(["qe-1", "qe-2"])
    harness: KernelHarness = await start_kernel(actors=fleet.specs,
                                                bots="- {id: qe-1}\n- {id: qe-2}\n",
                                                risk_yaml=FLEET_RISK_YAML)
    link = harness.endpoints["bot_link"]
    one, two = await ready(link, fleet, "qe-1"), await ready(link, fleet, "qe-2")
    facts = gateway_of(harness).facts
    try:
        await until(lambda: facts.behind_of("qe-1") == 0 == facts.behind_of("qe-2"),
                    "both engines caught up")
        counted = fleet["qe-1"].facts_taken, fleet["qe-2"].facts_taken
        taken = facts.taken
        before = fleet["qe-2"].state.last_heartbeat_ts
        await two.send(beat_of("qe-2", 2))
        await two.send(order("b-1", bot_id="qe-2"))
        while (reply := await two.recv(10.0)) is not None:
            if getattr(reply, "request_id", "") == "b-1":
                break
        assert fleet["qe-2"].state.last_heartbeat_ts != before  # taken before b-1
        assert facts.taken == taken + 1
        assert (fleet["qe-1"].facts_taken, fleet["qe-2"].facts_taken) == \
            (counted[0], counted[1] + 1)
    finally:
        one.close()
        two.close()
    assert journal_bodies(harness, "order.ahead") == []


class TinyInbox(RiskEngine):
    """An engine whose inbox holds one frame: a burst of facts that go the bus way
    drops all but the first, as a flood does to the real bound."""

    inbox_frames = 1


async def test_after_facts_were_dropped_from_its_inbox_the_engine_takes_facts_on_the_path_again(
    start_kernel: Any,
) -> None:
    """A fact's copy dropped on the way (the fence's or a later one's) leaves the
    gateway's count ahead of the engine's for good: without a new fence no fact would
    be taken on the path again and every order would get its ``order.ahead`` row."""
    engines = Engines(TinyInbox)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = RawBot(harness.endpoints["bot_link"])
    await bot.greet()
    facts = gateway_of(harness).facts
    try:
        seq = 1
        for _ in range(20):  # the first after the start is the fence: the rest wait behind it
            for _ in range(16):
                await bot.send(heartbeat(seq))
                seq += 1
            await asyncio.sleep(0.1)
            if engines.current.facts_epoch:
                break
        assert engines.current.facts_epoch, "no frame was dropped from the engine's inbox"
        taken = facts.taken
        for _ in range(20):
            await beat(bot, engines, heartbeat(seq))
            seq += 1
            if facts.taken > taken:
                break
        assert facts.taken > taken, "no fact taken on the gateway's path after the drop"
        await caught_up(harness, engines)
        ahead = len(journal_bodies(harness, "order.ahead"))
        await beat(bot, engines, heartbeat(seq))
        assert (await ask(bot, "after-the-drop")).verdict == "ALLOW"
        assert len(journal_bodies(harness, "order.ahead")) == ahead
    finally:
        bot.close()
