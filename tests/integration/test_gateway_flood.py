"""A flood of fresh bot ids and unknown symbols leaves no state beyond the bounded caches.

A raw DEALER that never said hello sends orders, each under a new ``bot_id`` and a
new unknown symbol, plus hellos under fresh ids; the bot that did say hello sends
orders for unknown symbols. Every order is answered; afterwards the sizes of the
kernel's per-key structures are read (docs/architecture.md, "Bounded state"), and
the refusals journaled one by one are within the gateway's quota: the assertions are
on sizes and counts, never on wall-clock time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from agents.audit.actor import Auditor
from agents.audit.rules import KEYS_MAX
from agents.audit.windows import STEPS
from bus.codec import encode
from bus.protocol import Bars, Error, Fill, Hello, OhlcvBar, OrderDecision
from kernel._gateway_backpressure import JOURNAL_HIGH, JOURNAL_LOW
from kernel._gateway_faults import KINDS_KEPT
from kernel._gateway_refusals import REFUSALS_JOURNALED_PER_S
from kernel._gateway_sessions import LINK_BURST, ONE_BOT_SESSIONS
from kernel._state_cache import KEYS_KEPT
from kernel.journal import read_journal
from kernel.registry import actor_factory
from kernel.settings import Settings
from tests.conftest import KernelHarness
from tests.integration._risk_link import RISK_YAML, Engines, ask, ready_bot
from tests.support.link import RawBot, order

FLOOD = KEYS_MAX + 200
"""More claimed ids than the auditor keeps windows for, so its bound is reached."""


class Audits:
    """The kernel's auditor factory, remembering the running instance."""

    def __init__(self) -> None:
        self.made: list[Auditor] = []
        self._factory: Any = None

    def bind(self, settings: Settings) -> Audits:
        self._factory = actor_factory(Auditor, settings)
        return self

    def __call__(self) -> Auditor:
        auditor: Auditor = self._factory()
        self.made.append(auditor)
        return auditor


async def _answers(bot: RawBot, count: int) -> list[Any]:
    out = []
    for _ in range(count):
        out.append(await bot.recv(timeout_s=60.0))
    return out


@pytest.mark.timeout(240)
async def test_a_flood_of_fresh_ids_and_symbols_leaves_only_bounded_state(
        start_kernel: Any) -> None:
    engines, audits = Engines(), Audits()
    harness: KernelHarness = await start_kernel(actors=[engines, audits], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    flooder = RawBot(harness.endpoints["bot_link"])
    flood_started = time.monotonic()
    try:
        for n in range(FLOOD):
            await flooder.sock.send(encode(order(f"f{n}", bot_id=f"claim-{uuid.uuid4().hex}",
                                                 symbol=f"NOPE{n}USDT")))
        for n in range(50):
            await flooder.send(Hello(bot_id=f"stranger-{n}", mode="paper", pid=n))
        answers = await _answers(flooder, FLOOD + 50)
        for n in range(200):
            await bot.sock.send(encode(order(f"q{n}", symbol=f"UNKNOWN{n}USDT",
                                             ts=time.time())))
        own = [a for a in await _answers(bot, 200) if isinstance(a, OrderDecision)]

        decisions = [a for a in answers if isinstance(a, OrderDecision)]
        assert len(decisions) == FLOOD
        assert {d.code for d in decisions} == {"identity_mismatch"}
        assert {a.code for a in answers if isinstance(a, Error)} == {"second_bot"}
        assert len(own) == 200 and all(d.verdict == "DENY" for d in own)

        kernel = harness.kernel
        assert kernel.gateway is not None and kernel.state_cache is not None
        gateway, engine = kernel.gateway, engines.current
        assert len(gateway.sessions) == 1  # the bot that said hello, nobody else
        assert len(gateway.faults.counts) <= KINDS_KEPT
        assert set(gateway.faults.counts) <= {"identity_mismatch", "second_bot"}
        state = engine.state
        assert set(state.positions) == {"BTCUSDT", "ETHUSDT"}  # no unknown symbol kept
        assert not state.open_orders and not state.buckets
        assert len(state.request_ids.chunks) * 64 + len(state.request_ids.recent) <= 4096 + 64
        assert len(kernel.state_cache.latest) <= KEYS_KEPT
        auditor = audits.made[-1]
        assert len(auditor._rules._denials) <= KEYS_MAX
        assert auditor._rules._denials.most_steps() <= STEPS + 2  # not one per denial
        assert len(auditor._rules._bots) <= KEYS_MAX
        assert gateway.sessions.limit == ONE_BOT_SESSIONS
        # Refusals beyond the quota are answered and counted, not journaled one by one.
        seconds = time.monotonic() - flood_started + 1.0
        assert gateway.refusals.refused >= FLOOD - REFUSALS_JOURNALED_PER_S * seconds
        rows = read_journal(harness.kernel.settings.journal_path, topic_prefix="order.decision",
                            limit=100_000)
        refused = [r for r in rows if b"identity_mismatch" in r.payload]
        assert 0 < len(refused) <= REFUSALS_JOURNALED_PER_S * seconds
    finally:
        flooder.close()
        bot.close()


async def test_the_link_waits_while_the_journal_is_behind_and_no_decision_is_lost(
        start_kernel: Any) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    gateway = harness.kernel.gateway
    assert gateway is not None
    behind = [JOURNAL_HIGH]
    gateway.backpressure._backlog = lambda: behind[0]  # as if the writer fell behind
    try:
        first = await ask(bot, "bp-1")  # read before the check: decided and answered
        assert first.request_id == "bp-1"
        assert gateway.backpressure.paused and gateway.backpressure.pauses == 1
        await bot.send(order("bp-2", ts=time.time()))
        assert await bot.nothing_within(0.3)  # not read while the journal is behind
        behind[0] = JOURNAL_LOW  # still not below the low-water mark
        assert await bot.nothing_within(0.1)
        behind[0] = 0
        second = await bot.recv(timeout_s=10.0)
        assert isinstance(second, OrderDecision) and second.request_id == "bp-2"
        assert not gateway.backpressure.paused
        assert gateway.faults.counts["journal_backpressure"] == 1
    finally:
        bot.close()


async def test_a_link_over_its_frame_budget_is_refused_and_the_others_are_served(
        start_kernel: Any) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    gateway = harness.kernel.gateway
    assert gateway is not None
    try:
        fills = int(LINK_BURST) + 200  # sent at once: far faster than the budget refills
        for n in range(fills):  # facts of record: never refused, whatever the rate
            await bot.send(Fill(request_id=f"x{n}", symbol="BTCUSDT", side="buy", qty=0.001,
                                price=50_000.0, ts=time.time(), bot_id="qe-1"))
        assert await bot.nothing_within(0.5)
        session = gateway.sessions.all()[0]
        assert session.budget.refused == 0
        bar = OhlcvBar(ts=time.time(), open=1.0, high=1.0, low=1.0, close=1.0)
        bars = 3 * int(LINK_BURST)  # the budget refills as they are read, on a busy machine
        for _ in range(bars):  # market data is budgeted
            await bot.send(Bars(symbol="BTCUSDT", bars=[bar], bot_id="qe-1"))
        refusals = []
        while not await bot.nothing_within(0.5):
            reply = await bot.recv()
            assert isinstance(reply, Error) and reply.code == "link_flooded", reply
            refusals.append(reply)
        assert 0 < len(refusals) <= bars - LINK_BURST  # the burst went through, not the rest
        assert session.budget.refused == len(refusals)
        decision = await ask(bot, "after-flood")  # orders are never budgeted
        assert decision.request_id == "after-flood"
    finally:
        bot.close()
