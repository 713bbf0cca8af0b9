"""``order_update`` over the bot link: the gateway takes it like a fill, the risk
engine keeps or releases the order's reservation from it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from bus.client import AsyncBotLink
from bus.protocol import Hello, OrderRequest, OrderUpdate, Welcome
from tests.conftest import KernelHarness
from tests.integration._risk_link import RISK_YAML, Engines, ask, beat, heartbeat, ready_bot, until
from tests.integration._risk_link import journal_bodies as bodies
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
async def bot(harness: KernelHarness, engines: Engines) -> AsyncIterator[RawBot]:
    raw = await ready_bot(harness, engines)
    yield raw
    raw.close()


async def test_a_cancel_frees_the_exposure_its_order_reserved(
    bot: RawBot, engines: Engines, harness: KernelHarness,
) -> None:
    for i in range(2):  # 2 x 2,250 USDT reserved
        assert (await ask(bot, f"u-{i}", qty=0.045)).verdict == "ALLOW"
    assert (await ask(bot, "u-over", qty=0.015)).code == "notional_limit"
    await bot.send(OrderUpdate(request_id="u-0", status="cancelled", ts=time.time(),
                               venue_order_id="V-0", remaining_qty=0.045))
    await until(lambda: "u-0" not in engines.current.state.open_orders, "u-0 released")
    assert (await ask(bot, "u-fits", qty=0.015)).verdict == "ALLOW"
    [row] = [b for b in bodies(harness, "order.update") if b["request_id"] == "u-0"]
    assert (row["bot_id"], row["status"], row["venue_order_id"]) == ("qe-1", "cancelled", "V-0")


async def test_a_json_accepted_update_confirms_the_order(bot: RawBot, engines: Engines) -> None:
    assert (await ask(bot, "j-1", qty=0.01)).verdict == "ALLOW"
    await bot.send_raw(msgspec.json.encode({"type": "order_update", "request_id": "j-1",
                                            "status": "accepted", "ts": time.time(),
                                            "venue_order_id": "V-9"}))
    await until(lambda: engines.current.state.open_orders["j-1"].status == "accepted",
                "j-1 accepted")
    assert engines.current.state.open_orders["j-1"].venue_order_id == "V-9"


async def test_an_update_out_of_its_bounds_gets_an_error_reply(bot: RawBot) -> None:
    await bot.send_raw(msgspec.json.encode({"type": "order_update", "request_id": "x",
                                            "status": "filled", "ts": 1.0}))
    reply = await bot.recv_json()
    assert reply["type"] == "error" and "status" in reply["reason"]


async def test_the_client_library_reports_updates(harness: KernelHarness,
                                                  engines: Engines) -> None:
    async with AsyncBotLink(harness.endpoints["bot_link"], bot_id="qe-1") as link:
        await link.hello(timeout_s=5)
        link.heartbeat(uptime_s=1.0, equity=10_000.0, realized_pnl=0.0, unrealized_pnl=0.0,
                       last_tick_ts=time.time(), marks={"BTCUSDT": 50_000.0})
        await until(lambda: engines.current.state.trading_state == "ACTIVE", "active")
        order = OrderRequest(request_id="lib-1", bot_id="qe-1", ts=time.time(),
                             symbol="BTCUSDT", side="buy", qty=0.01, price=50_000.0)
        assert (await link.can_execute(order, timeout_s=5)).verdict == "ALLOW"
        assert link.report_order_update(OrderUpdate(request_id="lib-1", status="rejected",
                                                    ts=time.time(), reason="post-only"))
        await until(lambda: "lib-1" not in engines.current.state.open_orders, "released")


async def test_an_order_left_unconfirmed_is_reported_once_and_keeps_counting(
    start_kernel: Any,
) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(
        actors=[engines], risk_yaml=RISK_YAML.replace("open_order_ttl_s: 60",
                                                      "open_order_ttl_s: 0.2"))
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(Hello(bot_id="qe-1", mode="paper", pid=7))
        assert isinstance(await bot.recv(), Welcome)
        await beat(bot, engines, heartbeat(1))
        for i in range(2):  # 2 x 2,250 USDT, never confirmed
            assert (await ask(bot, f"lost-{i}", qty=0.045)).verdict == "ALLOW"

        def reported() -> list[dict[str, Any]]:
            return [b for b in bodies(harness, "anomaly.risk")
                    if b["kind"] == "order_unconfirmed"]

        await until(lambda: len(reported()) == 2, "both orders reported", timeout_s=5)
        await asyncio.sleep(0.3)  # several timer ticks later: still once per order
        assert len(reported()) == 2
        assert "keeps reserving" in reported()[0]["detail"]
        assert (await ask(bot, "over", qty=0.015)).code == "notional_limit"
    finally:
        bot.close()


async def test_a_new_sessions_first_beat_marks_are_in_force_for_its_first_order(
    harness: KernelHarness, engines: Engines,
) -> None:
    """Issue 15 item 6: hello, first heartbeat, order at once; no ``stale_feed``
    from the marks of the bot that went before (the beat reaches the engine by bus)."""
    old = await ready_bot(harness, engines, heartbeat(1, tick_age_s=60))
    assert (await ask(old, "stale", qty=0.01)).code == "stale_feed"
    old.close()
    new = RawBot(harness.endpoints["bot_link"])
    try:
        await new.greet()
        await new.send(heartbeat(1))
        decision = await ask(new, "first", qty=0.01)  # sent right behind the beat
        assert decision.verdict == "ALLOW", f"{decision.code}: {decision.reason}"
    finally:
        new.close()
