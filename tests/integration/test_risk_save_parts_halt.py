"""A halt while thousands of orders are open is journaled before any order is decided
on it, as with few: the open orders' slices (``agents.risk._parts``) never stand
between a change that must be saved at once and the decisions made after it.

Why it matters: a bot told ``halted`` has seen the halt, so a ``kill -9`` right after
must not restart the engine from the save before it (a halt is not rebuilt from the
journal's order rows; after the restart, orders would be allowed again).
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from typing import Any

import msgspec
import pytest

from agents.risk._parts import PART_ORDERS
from agents.watchdog.messages import TradingHaltRequested
from bus.codec import encode
from kernel.journal import JournalEntry, read_journal
from risk.messages import RiskStateSaved, RiskStateSavedInParts
from tests.conftest import KernelHarness
from tests.integration._risk_link import RISK_YAML, Engines, ask, journal_bodies, ready_bot, until
from tests.support.link import order

pytestmark = pytest.mark.timeout(120)

MANY = PART_ORDERS + 100
ROOMY = (textwrap.dedent(RISK_YAML)
         .replace("max_open_orders: 20", f"max_open_orders: {MANY + 10}")
         .replace("max_notional_per_symbol: 5000", "max_notional_per_symbol: 100000")
         .replace("max_orders_per_second: 1000", "max_orders_per_second: 100000")
         .replace("stale_tick_s: 5", "stale_tick_s: 600"))
_saves = msgspec.msgpack.Decoder(RiskStateSaved | RiskStateSavedInParts)


async def test_a_halt_with_orders_in_slices_is_journaled_before_an_order_decided_on_it(
        start_kernel: Any) -> None:
    engines = Engines(save_every_s=0.2)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=ROOMY)
    bot = await ready_bot(harness, engines)
    for i in range(MANY):
        assert (await ask(bot, f"s{i}", qty=0.0001)).verdict == "ALLOW"
    await until(lambda: any(b["type"] == "risk_state_saved_in_parts"
                            for b in journal_bodies(harness, "risk.saved")),
                "a save naming its slices", timeout_s=30)
    engine = engines.current
    halting = asyncio.create_task(engine.handle(TradingHaltRequested(
        code="bot_gave_up", reason="the bot crashed 4 times", source="watchdog",
        ts=time.time())))
    await asyncio.sleep(0)  # the halt's turn runs up to its first wait
    assert engine.state.trading_state == "HALTED"
    # what the gateway does in one burst: decide on the state as it is, journal the
    # decision, and send it once committed
    now = time.time()
    decision = engine.decide(order("after-halt", qty=0.0001, ts=now), now)
    assert decision.code == "halted"
    journal = engine.ctx.journal
    seq = await journal.append_durable(JournalEntry(
        ts=now, topic=decision.topic, source="gateway", kind="order_decision",
        payload=encode(decision)))
    # a kill -9 now: the newest save at or before the decision's row is what a restart
    # reads, and the bot has been told the engine is halted
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix="risk.saved",
                        limit=100_000)
    newest = [r for r in rows if r.seq < seq][-1]
    assert _saves.decode(newest.payload).state.trading_state == "HALTED"
    await halting
    bot.close()
