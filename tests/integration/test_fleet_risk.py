"""One ledger per bot, limits per bot and across bots (docs/fleet.md, docs/risk.md "Scopes").

Two and three bots under one kernel: each bot's heartbeats and fills move its own
ledger only; a bot's own limits (with its overrides) deny with ``bot:ID`` in the
reason; a portfolio limit trips on the sum of bots none of which is over its own
limit, counting the reserved notional of pending orders (#4419), and its DENY names
the scope (``portfolio`` or ``account:X``) and the limit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bus.protocol import Fill
from tests.conftest import KernelHarness
from tests.integration._fleet import FLEET_RISK_YAML, FleetEngines, ask, beat, now, ready
from tests.integration._risk_link import until

TWO = "- {id: qe-1}\n- {id: qe-2}\n"
THREE = "- {id: qe-1}\n- {id: qe-2}\n- {id: qe-3, account: sub}\n"


async def start(start_kernel: Any, bots: str, names: list[str],
                risk_yaml: str = FLEET_RISK_YAML,
                **options: Any) -> tuple[KernelHarness, FleetEngines]:
    fleet = FleetEngines(names, **options)
    harness: KernelHarness = await start_kernel(actors=fleet.specs, bots=bots,
                                                risk_yaml=risk_yaml)
    return harness, fleet


async def test_each_bot_keeps_its_own_ledger(start_kernel: Any) -> None:
    harness, fleet = await start(start_kernel, TWO, ["qe-1", "qe-2"])
    link = harness.endpoints["bot_link"]
    one = await ready(link, fleet, "qe-1")
    two = await ready(link, fleet, "qe-2", equity=20_000.0)
    try:
        assert (await ask(one, "qe-1", "b1", qty=0.02)).verdict == "ALLOW"
        await one.send(Fill(request_id="b1", symbol="BTCUSDT", side="buy", qty=0.02,
                            price=50_000.0, ts=now(), bot_id="qe-1"))
        await until(lambda: "BTCUSDT" in fleet["qe-1"].state.positions
                    and fleet["qe-1"].state.positions["BTCUSDT"].qty == Decimal("0.02"),
                    "qe-1's fill booked")
        assert fleet["qe-2"].state.positions.get("BTCUSDT") is None or \
            not fleet["qe-2"].state.positions["BTCUSDT"].qty
        assert fleet["qe-1"].state.start_equity == 10_000
        assert fleet["qe-2"].state.start_equity == 20_000
        # qe-2's flat heartbeat does not contradict qe-1's position (no mismatch, no REDUCING)
        await beat(two, fleet, "qe-2", 2, equity=20_000.0)
        await beat(one, fleet, "qe-1", 2, positions=[("BTCUSDT", 0.02, 50_000.0, 50_000.0)])
        assert fleet["qe-1"].trading_state == fleet["qe-2"].trading_state == "ACTIVE"
    finally:
        one.close()
        two.close()


async def test_a_bots_own_override_denies_with_its_scope(start_kernel: Any) -> None:
    harness, fleet = await start(start_kernel, TWO, ["qe-1", "qe-2"])
    link = harness.endpoints["bot_link"]
    one, two = await ready(link, fleet, "qe-1"), await ready(link, fleet, "qe-2")
    try:
        mine = await ask(one, "qe-1", "big-1", qty=0.03)   # 1,500 USDT: within 2,500
        theirs = await ask(two, "qe-2", "big-2", qty=0.03)  # over qe-2's own 1,000
    finally:
        one.close()
        two.close()
    assert mine.verdict == "ALLOW"
    assert (theirs.verdict, theirs.code) == ("DENY", "fat_finger_notional")
    assert theirs.reason.startswith("bot:qe-2: ") and "1000" in theirs.reason


async def test_the_portfolio_trips_on_the_sum_of_bots_within_their_own_limits(
    start_kernel: Any,
) -> None:
    yaml = FLEET_RISK_YAML.replace("max_gross_notional: 6000", "max_gross_notional: 100000")
    harness, fleet = await start(start_kernel, TWO, ["qe-1", "qe-2"], yaml)
    link = harness.endpoints["bot_link"]
    one, two = await ready(link, fleet, "qe-1"), await ready(link, fleet, "qe-2")
    try:  # pending (not filled) orders reserve their notional: #4419's formula
        assert (await ask(one, "qe-1", "a", qty=0.05)).verdict == "ALLOW"   # 2,500
        assert (await ask(one, "qe-1", "b", qty=0.04)).verdict == "ALLOW"   # 4,500 of 5,000
        at_cap = await ask(two, "qe-2", "c", qty=0.02)   # 1,000: 5,500 summed, at the cap
        over = await ask(two, "qe-2", "d", qty=0.001)    # 50 more: over 5,500
        elsewhere = await ask(two, "qe-2", "e", qty=0.1, symbol="ETHUSDT", price=3_000.0)
    finally:
        one.close()
        two.close()
    assert at_cap.verdict == "ALLOW"
    assert (over.verdict, over.code) == ("DENY", "portfolio_notional_limit")
    assert over.reason == ("portfolio: BTCUSDT notional summed over the bots would be "
                           "5550 USDT, over max_notional_per_symbol 5500 USDT")
    assert elsewhere.verdict == "ALLOW"  # another symbol is not held by the sum


async def test_the_portfolio_gross_notional_counts_every_bots_pending_orders(
    start_kernel: Any,
) -> None:
    harness, fleet = await start(start_kernel, TWO, ["qe-1", "qe-2"])
    link = harness.endpoints["bot_link"]
    one, two = await ready(link, fleet, "qe-1"), await ready(link, fleet, "qe-2")
    try:
        assert (await ask(one, "qe-1", "a", qty=0.05)).verdict == "ALLOW"   # 2,500
        assert (await ask(one, "qe-1", "b", qty=0.04)).verdict == "ALLOW"   # 4,500
        denied = await ask(two, "qe-2", "c", qty=0.3, symbol="ETHUSDT", price=3_000.0)
        # 4,500 + 900 = 5,400: fine; + another 900 = 6,300 > 6,000
        second = await ask(two, "qe-2", "d", qty=0.3, symbol="ETHUSDT", price=3_000.0)
        alone = fleet["qe-2"].state.open_orders
    finally:
        one.close()
        two.close()
    assert denied.verdict == "ALLOW"
    assert (second.verdict, second.code) == ("DENY", "portfolio_gross_limit")
    assert second.reason.startswith("portfolio: gross notional would be 6300")
    assert "max_gross_notional 6000" in second.reason
    assert list(alone) == ["c"]  # a denied order reserves nothing


HELD = [("BTCUSDT", 0.05, 50_000.0, 50_000.0)]
DOWN = {"positions": [("BTCUSDT", 0.05, 50_000.0, 47_000.0)], "marks": {"BTCUSDT": 47_000.0},
        "equity": 9_850.0}
"""Each bot loses 150 USDT on 0.05 BTC: within its own 300."""


async def test_three_bots_trip_the_portfolio_daily_loss_none_its_own(start_kernel: Any) -> None:
    yaml = FLEET_RISK_YAML.replace("max_gross_notional: 6000", "max_gross_notional: 100000")
    yaml = yaml.replace("max_notional_per_symbol: 5500", "max_notional_per_symbol: 90000")
    harness, fleet = await start(start_kernel, THREE, ["qe-1", "qe-2", "qe-3"], yaml)
    link = harness.endpoints["bot_link"]
    bots = {b: await ready(link, fleet, b, positions=HELD) for b in ("qe-1", "qe-2", "qe-3")}
    try:
        before = await ask(bots["qe-2"], "qe-2", "before", qty=0.001)
        for bot_id, bot in bots.items():  # 150 + 150 + 150 = 450 over the portfolio's 400
            await beat(bot, fleet, bot_id, 2, **DOWN)
        denied = await ask(bots["qe-2"], "qe-2", "c", qty=0.001, price=47_000.0)
        closing = await ask(bots["qe-1"], "qe-1", "close", side="sell", qty=0.05,
                            price=47_000.0, reduce_only=True)
        held = {b: [r.text for r in fleet[b].state.reasons] for b in bots}
    finally:
        for bot in bots.values():
            bot.close()
    assert before.verdict == "ALLOW", before.reason
    assert closing.verdict == "ALLOW"  # reducing is always possible
    if denied.code == "halted":  # an engine's tick (1 s) halted the portfolio first
        assert denied.reason.startswith("bot:qe-2: trading is HALTED (portfolio: "
                                        "max_daily_loss at 450 USDT of 400 USDT: reached"), \
            denied.reason
        return
    assert (denied.verdict, denied.code) == ("DENY", "portfolio_loss_limit")
    assert denied.reason.startswith("portfolio: daily loss 450 USDT has reached "
                                    "max_daily_loss 400 USDT")
    for bot_id, reasons in held.items():  # each bot is within its own limits: whatever
        # holds it (an engine's tick may have halted the portfolio by now) is the portfolio
        assert all(text.startswith("portfolio:") for text in reasons), (bot_id, reasons)


async def test_an_account_scope_is_checked_and_named(start_kernel: Any) -> None:
    yaml = FLEET_RISK_YAML.replace("max_daily_loss: {usdt: 400}", "max_daily_loss: {usdt: 140}")
    yaml = yaml.replace("max_gross_notional: 6000", "max_gross_notional: 100000")
    # no timer: between qe-3's heartbeat and qe-1's the portfolio reads a loss of 150,
    # which a tick would halt every bot for; the check at the order is what is tested
    harness, fleet = await start(start_kernel, THREE, ["qe-1", "qe-2", "qe-3"], yaml,
                                 tick_s=3600.0)
    link = harness.endpoints["bot_link"]
    one = await ready(link, fleet, "qe-1", positions=HELD, equity=10_000.0)
    two = await ready(link, fleet, "qe-2")
    three = await ready(link, fleet, "qe-3", positions=HELD)
    try:  # qe-3, alone in account sub, loses 150; qe-1 gains 100: the portfolio lost 50
        await beat(three, fleet, "qe-3", 2, **DOWN)
        await beat(one, fleet, "qe-1", 2, positions=[("BTCUSDT", 0.05, 50_000.0, 52_000.0)],
                   marks={"BTCUSDT": 52_000.0}, equity=10_100.0)
        denied = await ask(three, "qe-3", "x", qty=0.001, price=47_000.0)
        other = await ask(one, "qe-1", "y", qty=0.001, price=52_000.0)
    finally:
        for bot in (one, two, three):
            bot.close()
    assert (denied.code, other.verdict) == ("portfolio_loss_limit", "ALLOW")
    assert denied.reason.startswith("account:sub: daily loss 150 USDT has reached "
                                    "max_daily_loss 140 USDT")
