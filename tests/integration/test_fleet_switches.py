"""Kill switches with scopes (docs/fleet.md, "Kill switches").

``kernel halt|resume|close-all --bot ID`` acts on one bot and leaves the others
trading; without ``--bot`` the command is the portfolio's and reaches every bot,
each journaled and answered apart. A portfolio loss limit reached by the sum of
bots halts every bot of its scope and sends each a ``close_all``; 80 % of a limit
is warned of once per scope, limit and day.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import pytest

from agents.watchdog.messages import TradingHaltRequested
from bus.protocol import Command, OrderDecision
from kernel.console.cli import main
from kernel.console.control_client import ControlRefused, ask
from kernel.control_protocol import (
    ActionAnswered,
    CloseAllRequest,
    HaltRequest,
    ModeRequest,
    ResumeRequest,
    RiskMultiplierRequest,
)
from kernel.journal import read_journal
from tests.conftest import KernelHarness, write_config
from tests.integration._fleet import FLEET_RISK_YAML, FleetEngines, beat, ready
from tests.integration._fleet import ask as order_ask
from tests.integration._risk_link import Bus, until
from tests.support.link import RawBot

TWO = "- {id: qe-1}\n- {id: qe-2}\n"
WIDE = FLEET_RISK_YAML.replace("max_gross_notional: 6000", "max_gross_notional: 100000") \
    .replace("max_notional_per_symbol: 5500", "max_notional_per_symbol: 90000")


async def control(harness: KernelHarness, request: Any) -> Any:
    return await asyncio.to_thread(ask, harness.endpoints["control"], request, timeout_s=10)


def journaled(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic,
                        limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


async def start(start_kernel: Any, risk_yaml: str = WIDE, **options: Any) -> tuple[
        KernelHarness, FleetEngines, RawBot, RawBot]:
    fleet = FleetEngines(["qe-1", "qe-2"], **options)
    harness: KernelHarness = await start_kernel(actors=fleet.specs, bots=TWO,
                                                risk_yaml=risk_yaml)
    link = harness.endpoints["bot_link"]
    return harness, fleet, await ready(link, fleet, "qe-1"), await ready(link, fleet, "qe-2")


async def test_a_bot_halt_leaves_the_others_trading(start_kernel: Any) -> None:
    harness, _fleet, one, two = await start(start_kernel)
    try:
        reply = await control(harness, HaltRequest(reason="looks odd", user="ana",
                                                   bot_id="qe-1"))
        halted = await order_ask(one, "qe-1", "h1", qty=0.001)
        trading = await order_ask(two, "qe-2", "h2", qty=0.001)
        resumed = await control(harness, ResumeRequest(reason="fine", user="ana",
                                                       bot_id="qe-1", confirmed=True))
        again = await order_ask(one, "qe-1", "h3", qty=0.001)
    finally:
        one.close()
        two.close()
    assert isinstance(reply, ActionAnswered) and reply.outcome == "applied"
    assert (halted.verdict, halted.code) == ("DENY", "halted")
    assert halted.reason.startswith("bot:qe-1: ") and "looks odd" in halted.reason
    assert trading.verdict == "ALLOW"
    assert resumed.outcome == "applied" and again.verdict == "ALLOW"
    commands = journaled(harness, "operator.command")
    assert [(c["action"], c["bot_id"]) for c in commands] == [("halt", "qe-1"),
                                                              ("resume", "qe-1")]


async def test_a_watchdog_halt_of_one_bot_names_that_bot_in_its_way_out(
        start_kernel: Any) -> None:
    """The halt a bot's watchdog asks for when it gives up holds that bot alone, and its
    way out names the bot in each command: a bare ``kernel mode`` would restart every
    bot and a bare ``kernel resume`` resume every one. The request comes from outside
    the kernel here, so it reaches every engine unrouted (``_not_mine`` keeps it to
    qe-2's)."""
    harness, fleet, one, two = await start(start_kernel)
    bus = Bus(harness)
    try:
        request = TradingHaltRequested(code="bot_gave_up", reason="the bot crashed 4 times",
                                       source="watchdog.qe-2", ts=time.time(), bot_id="qe-2")
        await bus.publish_until(request, lambda: fleet["qe-2"].trading_state == "HALTED",
                                "qe-2's watchdog halt")
        trading = await order_ask(one, "qe-1", "g1", qty=0.001)
    finally:
        bus.close()
        one.close()
        two.close()
    assert trading.verdict == "ALLOW" and fleet["qe-1"].trading_state == "ACTIVE"
    (change,) = [b for b in journaled(harness, "risk.halt")
                 if b["type"] == "trading_state_changed" and b["current"] == "HALTED"]
    (reason,) = change["reasons"]
    assert change["bot_id"] == "qe-2" and reason["way_out"] == (
        "fix the bot (its log, its entry qe-2 in paths.yaml bots:), start it with kernel mode "
        'paper|demo --bot qe-2 --reason "<why>", then: kernel resume --bot qe-2 --reason '
        '"<why>" --yes')


async def test_a_portfolio_halt_stops_every_bot(start_kernel: Any) -> None:
    harness, _fleet, one, two = await start(start_kernel)
    try:
        reply = await control(harness, HaltRequest(reason="CPI", user="ana"))
        denied = [await order_ask(b, n, f"p-{n}", qty=0.001)
                  for n, b in (("qe-1", one), ("qe-2", two))]
        resumed = await control(harness, ResumeRequest(reason="after CPI", user="ana",
                                                       confirmed=True))
        allowed = await order_ask(two, "qe-2", "after", qty=0.001)
    finally:
        one.close()
        two.close()
    assert isinstance(reply, ActionAnswered) and reply.outcome == "applied"
    assert reply.detail.startswith("portfolio: bot:qe-1: applied") and "bot:qe-2: applied" \
        in reply.detail
    assert [d.code for d in denied] == ["halted", "halted"]
    assert resumed.outcome == "applied" and allowed.verdict == "ALLOW"
    assert sorted(c["bot_id"] for c in journaled(harness, "operator.command")
                  if c["action"] == "halt") == ["qe-1", "qe-2"]


async def test_close_all_for_one_bot_reaches_that_bot_only(start_kernel: Any) -> None:
    harness, _fleet, one, two = await start(start_kernel)
    try:
        reply = await control(harness, CloseAllRequest(reason="flatten qe-2", user="ana",
                                                       bot_id="qe-2"))
        command = await two.recv()
        quiet = await one.nothing_within(0.3)
        other = await order_ask(one, "qe-1", "still", qty=0.001)
    finally:
        one.close()
        two.close()
    assert reply.outcome == "applied"
    assert isinstance(command, Command) and command.action == "close_all"
    assert quiet and other.verdict == "ALLOW"


async def test_an_unknown_bot_is_refused_with_the_ids(start_kernel: Any) -> None:
    harness, _fleet, one, two = await start(start_kernel)
    one.close()
    two.close()
    for request in (HaltRequest(reason="x", user="ana", bot_id="qe-9"),
                    ModeRequest(mode="off", reason="x", user="ana", bot_id="qe-9")):
        with pytest.raises(ControlRefused) as refused:
            await control(harness, request)
        assert "--bot qe-9: no such bot" in str(refused.value)
        assert "qe-1, qe-2" in str(refused.value)


async def test_a_portfolio_loss_halts_every_bot_and_closes_each(start_kernel: Any) -> None:
    yaml = WIDE.replace("max_daily_loss: {usdt: 400}", "max_daily_loss: {usdt: 250}")
    fleet = FleetEngines(["qe-1", "qe-2"])
    harness: KernelHarness = await start_kernel(actors=fleet.specs, bots=TWO, risk_yaml=yaml)
    link = harness.endpoints["bot_link"]
    held = [("BTCUSDT", 0.05, 50_000.0, 50_000.0)]
    one = await ready(link, fleet, "qe-1", positions=held)
    two = await ready(link, fleet, "qe-2", positions=held)
    down = {"positions": [("BTCUSDT", 0.05, 50_000.0, 47_600.0)],
            "marks": {"BTCUSDT": 47_600.0}, "equity": 9_880.0}
    try:  # 120 each, 240 in all: 96 % of 250, a warning, no halt
        await beat(one, fleet, "qe-1", 2, **down)
        await beat(two, fleet, "qe-2", 2, **down)
        await until(lambda: any(w["scope"] == "portfolio" for w in
                                journaled(harness, "risk.warning")), "portfolio warning")
        assert fleet["qe-1"].trading_state == "ACTIVE"
        lower = {**down, "positions": [("BTCUSDT", 0.05, 50_000.0, 47_400.0)],
                 "marks": {"BTCUSDT": 47_400.0}, "equity": 9_870.0}
        await beat(one, fleet, "qe-1", 3, **lower)  # 130 + 120 = 250: reached
        await until(lambda: fleet["qe-1"].trading_state == fleet["qe-2"].trading_state
                    == "HALTED", "every bot halted")
        closes = [await _command(one), await _command(two)]
        denied = await order_ask(two, "qe-2", "after", qty=0.001, price=47_400.0)
    finally:
        one.close()
        two.close()
    assert [c.action for c in closes] == ["close_all", "close_all"]
    assert denied.code in ("halted", "portfolio_loss_limit")
    tripped = [t for t in journaled(harness, "risk.limit") if t["code"] == "portfolio_loss_limit"]
    assert len(tripped) == 2 and all(t["reason"].startswith("portfolio: max_daily_loss")
                                     for t in tripped)
    warnings = journaled(harness, "risk.warning")
    assert len([w for w in warnings if w["scope"] == "portfolio"]) == 1  # once a day


async def _command(bot: RawBot) -> Command:
    while True:
        reply = await bot.recv()
        if isinstance(reply, Command):
            return reply
        assert not isinstance(reply, OrderDecision)


async def test_a_welcome_tells_the_bots_own_state(start_kernel: Any) -> None:
    harness, _fleet, one, two = await start(start_kernel)
    one.close()
    two.close()
    await control(harness, HaltRequest(reason="only qe-1", user="ana", bot_id="qe-1"))
    again = {b: RawBot(harness.endpoints["bot_link"]) for b in ("qe-1", "qe-2")}
    try:
        welcomes = {b: await bot.greet(b) for b, bot in again.items()}
    finally:
        for bot in again.values():
            bot.close()
    assert welcomes["qe-1"].trading_state == "HALTED"
    assert welcomes["qe-2"].trading_state == "ACTIVE"


async def test_the_risk_multiplier_of_one_bot(start_kernel: Any) -> None:
    harness, fleet, one, two = await start(start_kernel)
    one.close()
    two.close()
    reply = await control(harness, RiskMultiplierRequest(value=0.5, reason="calmer",
                                                         user="ana", bot_id="qe-2"))
    assert reply.outcome == "applied"
    assert (fleet["qe-1"].risk_multiplier, fleet["qe-2"].risk_multiplier) == (1.0, 0.5)
    with pytest.raises(ControlRefused, match="--bot qe-9: no such bot"):
        await control(harness, RiskMultiplierRequest(value=0.5, reason="x", user="ana",
                                                     bot_id="qe-9"))


async def test_the_risk_multiplier_without_a_bot_prints_every_bots_answer(
    start_kernel: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    """``kernel risk-multiplier`` without ``--bot`` asks every bot's engine and waits for
    each answer, as halt does; the exit code is not 0 when any bot refused."""
    harness, fleet, one, two = await start(start_kernel)
    one.close()
    two.close()
    ports = {name: int(harness.endpoints[key].rsplit(":", 1)[1]) for name, key in (
        ("link", "bot_link"), ("pub", "bus_publish"), ("sub", "bus_subscribe"),
        ("control", "control"))}  # the CLI needs the ports the kernel bound
    config = str(write_config(harness.kernel.settings.config_dir.parent, ports=ports,
                              bots=TWO, risk_yaml=WIDE))

    def run(*args: str) -> tuple[int, str]:
        code = main(["--config-dir", config, "risk-multiplier", *args])
        return code, " ".join(capsys.readouterr().out.split())

    applied = await asyncio.to_thread(run, "0.5", "--reason", "calmer")
    refused = await asyncio.to_thread(run, "5", "--reason", "bolder")
    assert applied[0] == 0, applied
    assert "portfolio: bot:qe-1: applied" in applied[1] and "bot:qe-2: applied" in applied[1]
    assert (fleet["qe-1"].risk_multiplier, fleet["qe-2"].risk_multiplier) == (0.5, 0.5)
    assert refused[0] == 6, refused
    assert "bot:qe-1: refused" in refused[1] and "bot:qe-2: refused" in refused[1]
    changes = journaled(harness, "risk.multiplier_request")
    assert sorted(c["bot_id"] for c in changes) == ["qe-1", "qe-1", "qe-2", "qe-2"]
