"""The risk engine as the order gate of a real kernel, asked through the bot link.

Real ROUTER/DEALER sockets on loopback and a real SQLite journal: each limit
denies with its stable code and a reason that names the numbers, and every
answer the bot gets is in the journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bus.protocol import Command, Hello, OrderDecision, Welcome
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    ask,
    beat,
    heartbeat,
    journal_bodies,
)
from tests.support.link import RawBot

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def engines() -> Engines:
    return Engines()


@pytest.fixture
async def harness(start_kernel: Any, engines: Engines) -> KernelHarness:
    h: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    return h


@pytest.fixture
async def bot(harness: KernelHarness) -> AsyncIterator[RawBot]:
    """A bot that said hello, so that the kernel can send it commands."""
    raw = RawBot(harness.endpoints["bot_link"])
    await raw.send(Hello(bot_id="qe-1", mode="paper", pid=7))
    assert isinstance(await raw.recv(), Welcome)
    yield raw
    raw.close()


@pytest.fixture
async def ready(bot: RawBot, engines: Engines) -> RawBot:
    """A bot whose first heartbeat (10,000 USDT, flat, fresh marks) the engine took."""
    await beat(bot, engines, heartbeat(1))
    assert engines.current.state.trading_state == "ACTIVE"
    return bot


async def test_before_the_first_heartbeat_opening_orders_wait_for_the_facts(
    harness: KernelHarness,
) -> None:
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(Hello(bot_id="qe-2", mode="paper", pid=7))
        welcome = await bot.recv()
        decision = await ask(bot, "early", bot_id="qe-2")
    finally:
        bot.close()
    assert isinstance(welcome, Welcome) and welcome.trading_state == "REDUCING"
    assert (decision.verdict, decision.code) == ("DENY", "reducing_only")
    assert "first heartbeat" in decision.reason


async def test_under_the_limits_the_order_is_allowed_and_journaled_first(
    ready: RawBot, harness: KernelHarness,
) -> None:
    decision = await ask(ready, "ok-1", qty=0.01, price=50_000.0)
    assert (decision.verdict, decision.code, decision.trading_state) == \
        ("ALLOW", "allowed", "ACTIVE")
    journaled = [b for b in journal_bodies(harness, "order.decision")
                 if b["request_id"] == "ok-1"]
    assert [b["verdict"] for b in journaled] == ["ALLOW"]


@pytest.mark.parametrize(("fields", "code", "says"), [
    ({"symbol": "DOGEUSDT", "price": 0.1, "qty": 100.0}, "symbol_not_allowed", "DOGEUSDT"),
    ({"qty": 0.06}, "fat_finger_qty", "max_order_qty 0.05"),
    ({"symbol": "ETHUSDT", "qty": 0.9, "price": 3_000.0}, "fat_finger_notional",
     "max_order_notional 2500 USDT"),
    ({"price": 51_000.0}, "price_collar", "max_price_deviation_pct 1.5"),
    ({"leverage": 3.0}, "leverage_limit", "max_leverage 2"),
])
async def test_each_pre_trade_limit_denies_with_its_code_and_numbers(
    ready: RawBot, fields: dict[str, Any], code: str, says: str,
) -> None:
    decision = await ask(ready, f"deny-{code}", **fields)
    assert (decision.verdict, decision.code) == ("DENY", code), decision.reason
    assert says in decision.reason


async def test_notional_counts_the_orders_already_allowed(ready: RawBot) -> None:
    for i in range(2):  # 2 x 2,250 USDT reserved, not filled yet
        assert (await ask(ready, f"n-{i}", qty=0.045)).verdict == "ALLOW"
    decision = await ask(ready, "n-over", qty=0.015)
    assert (decision.verdict, decision.code) == ("DENY", "notional_limit")
    assert "5250 USDT" in decision.reason and "max_notional_per_symbol 5000 USDT" in \
        decision.reason


async def test_a_reused_request_id_is_denied(ready: RawBot) -> None:
    assert (await ask(ready, "same")).verdict == "ALLOW"
    again = await ask(ready, "same")
    assert (again.verdict, again.code) == ("DENY", "duplicate_request")


async def test_missing_or_stale_marks_fail_closed(bot: RawBot, engines: Engines) -> None:
    await beat(bot, engines, heartbeat(1, marks={"ETHUSDT": 3_000.0}))
    unknown = await ask(bot, "no-mark")
    assert (unknown.code, "BTCUSDT" in unknown.reason) == ("no_mark_price", True)
    await beat(bot, engines, heartbeat(2, tick_age_s=30))
    stale = await ask(bot, "stale")
    assert (stale.verdict, stale.code) == ("DENY", "stale_feed")


async def test_the_order_rate_is_throttled(start_kernel: Any) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(
        actors=[engines], risk_yaml=RISK_YAML.replace("max_orders_per_second: 1000",
                                                      "max_orders_per_second: 2"))
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.greet()
        await beat(bot, engines, heartbeat(1))
        answers = [await ask(bot, f"rate-{i}", qty=0.001) for i in range(3)]
    finally:
        bot.close()
    assert [a.code for a in answers] == ["allowed", "allowed", "rate_limit"]


async def test_daily_loss_halts_closes_all_and_lets_only_reduce_only_through(
    bot: RawBot, engines: Engines, harness: KernelHarness,
) -> None:
    await beat(bot, engines, heartbeat(1, positions=[("BTCUSDT", 0.1, 50_000.0, 50_000.0)]))
    await bot.send(heartbeat(2, equity=9_650.0, marks={"BTCUSDT": 46_500.0, "ETHUSDT": 3_000.0},
                             positions=[("BTCUSDT", 0.1, 50_000.0, 46_500.0)]))
    command = await bot.recv()  # the engine commands the bot to close everything
    assert isinstance(command, Command) and command.action == "close_all"
    assert engines.current.state.trading_state == "HALTED"

    opening = await ask(bot, "after-halt", qty=0.001, price=46_500.0)
    assert (opening.verdict, opening.code, opening.trading_state) == \
        ("DENY", "halted", "HALTED")
    assert "daily loss 350 USDT" in opening.reason and "reduce_only" in opening.reason
    closing = await ask(bot, "close", side="sell", qty=0.1, price=46_500.0, reduce_only=True)
    assert (closing.verdict, closing.code) == ("ALLOW", "allowed")

    limits = journal_bodies(harness, "risk.limit")
    assert [(b["code"], b["action"]) for b in limits] == [("daily_loss_limit", "close_all")]
    sent = [b for b in journal_bodies(harness, "bot.command") if b["type"] == "command"]
    assert [b["action"] for b in sent] == ["close_all"]
    assert "daily loss" in sent[0]["params"]["reason"]


async def test_drawdown_from_the_days_high_halts(bot: RawBot, engines: Engines) -> None:
    held = ("BTCUSDT", 0.1, 50_000.0)
    await beat(bot, engines, heartbeat(1, positions=[(*held, 50_000.0)]))
    await beat(bot, engines, heartbeat(2, equity=10_600.0, positions=[(*held, 56_000.0)],
                                       marks={"BTCUSDT": 56_000.0}))
    await bot.send(heartbeat(3, equity=10_050.0, positions=[(*held, 50_500.0)],
                             marks={"BTCUSDT": 50_500.0}))
    reply = await bot.recv()
    assert isinstance(reply, Command) and reply.action == "close_all"
    state = engines.current.state
    assert state.trading_state == "HALTED"
    assert [r.code for r in state.reasons] == ["drawdown_limit"]
    denied = await ask(bot, "dd", qty=0.001, price=50_500.0)
    assert denied.code == "halted" and "drawdown 550 USDT" in denied.reason


async def test_every_decision_the_bot_saw_is_in_the_journal(
    ready: RawBot, harness: KernelHarness,
) -> None:
    seen: list[OrderDecision] = [await ask(ready, f"j-{i}", qty=0.001 + i / 1000)
                                 for i in range(5)]
    seen.append(await ask(ready, "j-bad", symbol="XRPUSDT", price=0.5, qty=10.0))
    journaled = {(b["request_id"], b["verdict"], b["code"])
                 for b in journal_bodies(harness, "order.decision")}
    assert {(d.request_id, d.verdict, d.code) for d in seen} <= journaled
