"""People and the watchdog move the trading state; a crashing engine fails closed.

Operator commands and the watchdog's halt request arrive over the kernel's bus,
as the control socket and the watchdog send them; orders still go through the
bot link.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from agents.risk.actor import RiskEngine
from agents.watchdog.messages import TradingHaltRequested
from bus.protocol import Command, Fill, Message
from kernel.actor import ActorContext
from kernel.events import OperatorCommandIssued, RiskMultiplierChangeRequested
from kernel.gate import ClosedGate
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Bus,
    Engines,
    ask,
    beat,
    fill,
    heartbeat,
    journal_bodies,
    ready_bot,
    until,
)
from tests.support.link import RawBot

pytestmark = pytest.mark.timeout(30)


def operator(action: str, reason: str, *, confirmed: bool = False) -> OperatorCommandIssued:
    return OperatorCommandIssued(action=action, reason=reason, user="ana",  # type: ignore[arg-type]
                                 ts=time.time(), confirmed=confirmed)


@pytest.fixture
def engines() -> Engines:
    return Engines()


@pytest.fixture
async def harness(start_kernel: Any, engines: Engines) -> KernelHarness:
    h: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    return h


@pytest.fixture
async def bus(harness: KernelHarness) -> AsyncIterator[Bus]:
    client = Bus(harness)
    yield client
    client.close()


@pytest.fixture
async def bot(harness: KernelHarness, engines: Engines) -> AsyncIterator[RawBot]:
    """A bot that said hello and whose first heartbeat (flat, 10,000 USDT) was taken."""
    raw = await ready_bot(harness, engines)
    yield raw
    raw.close()


async def test_an_operator_halts_and_resumes_with_reason_and_user_journaled(
    bot: RawBot, bus: Bus, engines: Engines, harness: KernelHarness,
) -> None:
    await bus.publish_until(operator("halt", "exchange maintenance"),
                            lambda: engines.current.state.trading_state == "HALTED", "halt")
    denied = await ask(bot, "h-1", qty=0.001)
    assert (denied.verdict, denied.code) == ("DENY", "halted")
    assert "halted by hand: exchange maintenance (by ana)" in denied.reason

    await bus.publish_until(operator("resume", "maintenance over"),
                            lambda: engines.current.state.trading_state == "ACTIVE", "resume")
    assert (await ask(bot, "h-2", qty=0.001)).verdict == "ALLOW"
    changes = [(b["current"], b["by"], b["cause"]) for b in journal_bodies(harness, "risk.halt")
               if b["type"] == "trading_state_changed" and b["by"] == "human"]
    assert changes == [("HALTED", "human", "halt: exchange maintenance (by ana)"),
                       ("ACTIVE", "human", "resume: maintenance over (by ana)")]


async def test_resume_after_a_limit_halt_needs_confirmation(
    bot: RawBot, bus: Bus, engines: Engines, harness: KernelHarness,
) -> None:
    await fill(bot, engines, "f-1", qty=0.1, price=50_000.0)
    await beat(bot, engines, heartbeat(3, equity=9_650.0, marks={"BTCUSDT": 46_500.0},
                                       positions=[("BTCUSDT", 0.1, 50_000.0, 46_500.0)]))
    assert engines.current.state.trading_state == "HALTED"

    def refused() -> list[dict[str, Any]]:
        return journal_bodies(harness, "risk.operator")

    await bus.publish_until(operator("resume", "looks fine"), refused, "refusal")
    assert engines.current.state.trading_state == "HALTED"
    reason = refused()[0]["reason"]
    assert "daily loss 350 USDT" in reason and "--yes" in reason and refused()[0]["user"] == "ana"

    await bus.publish_until(operator("resume", "checked the book", confirmed=True),
                            lambda: engines.current.state.trading_state == "ACTIVE", "resume")
    # the daily loss was re-armed from the equity of the resume: 9,650 USDT
    assert engines.current.state.start_equity == 9_650
    assert (await ask(bot, "after", qty=0.001, price=46_500.0)).verdict == "ALLOW"


async def test_close_all_by_the_operator_halts_and_commands_the_bot(
    bot: RawBot, bus: Bus, engines: Engines, harness: KernelHarness,
) -> None:
    await bus.publish_until(operator("close_all", "end of session"),
                            lambda: engines.current.state.trading_state == "HALTED", "close")
    command = await bot.recv()
    assert isinstance(command, Command) and command.action == "close_all"
    assert command.params["reason"] == "operator ana: end of session"
    assert [r.code for r in engines.current.state.reasons] == ["manual_halt"]
    sent = [b for b in journal_bodies(harness, "bot.command") if b["type"] == "command"]
    assert [b["action"] for b in sent] == ["close_all"]


async def test_the_watchdogs_halt_reopens_the_gate_for_reduce_only_orders(
    bot: RawBot, bus: Bus, engines: Engines, harness: KernelHarness,
) -> None:
    await fill(bot, engines, "f-1", qty=0.1, price=50_000.0)
    assert harness.kernel.services is not None
    harness.kernel.services.set_gate(ClosedGate(code="bot_gave_up", reason="the bot gave up"))
    assert (await ask(bot, "w-0", qty=0.001)).code == "bot_gave_up"

    request = TradingHaltRequested(code="bot_gave_up", reason="the bot crashed 4 times in 30 s",
                                   source="watchdog", ts=time.time())
    await bus.publish_until(request, lambda: engines.current.state.trading_state == "HALTED",
                            "watchdog halt")
    closing = await ask(bot, "w-1", side="sell", qty=0.1, reduce_only=True)
    assert (closing.verdict, closing.code) == ("ALLOW", "allowed")
    opening = await ask(bot, "w-2", qty=0.001)
    assert opening.code == "halted" and "crashed 4 times" in opening.reason
    by = [b["by"] for b in journal_bodies(harness, "risk.halt")
          if b["type"] == "trading_state_changed" and b["current"] == "HALTED"]
    assert by == ["watchdog"]


class FragileEngine(RiskEngine):
    """Crashes on request, once, and holds its next start until the test lets it go on."""

    release = asyncio.Event()
    starts = 0

    async def start(self, ctx: ActorContext) -> None:
        FragileEngine.starts += 1
        self.first = FragileEngine.starts == 1
        if not self.first:
            await FragileEngine.release.wait()
        await super().start(ctx)

    async def handle(self, message: Message) -> Sequence[Message]:
        if isinstance(message, OperatorCommandIssued) and message.reason == "crash":
            if self.first:
                raise RuntimeError("deliberate crash")
            return ()  # a copy the test sent again while the first engine went down
        return await super().handle(message)


@asynccontextmanager
async def fragile(start_kernel: Any) -> AsyncIterator[tuple[KernelHarness, Engines, RawBot, Bus]]:
    """A kernel whose engine crashes on the operator's halt "crash" and waits for
    ``FragileEngine.release`` to finish its next start; a bot that said hello and beat."""
    FragileEngine.release, FragileEngine.starts = asyncio.Event(), 0
    engines = Engines(FragileEngine)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot, bus = RawBot(harness.endpoints["bot_link"]), Bus(harness)
    try:
        await bot.greet()
        await beat(bot, engines, heartbeat(1))
        yield harness, engines, bot, bus
    finally:
        bot.close()
        bus.close()


async def test_while_the_engine_restarts_the_gate_is_closed_and_the_halt_survives(
    start_kernel: Any,
) -> None:
    async with fragile(start_kernel) as (_, engines, bot, bus):
        await bus.publish_until(operator("halt", "before the crash"),
                                lambda: engines.current.state.trading_state == "HALTED", "halt")
        first = engines.current
        await bus.publish_until(operator("halt", "crash"), lambda: engines.current is not first,
                                "restart")
        closed = await ask(bot, "c-1", qty=0.001)
        assert (closed.verdict, closed.code) == ("DENY", "risk_engine_unavailable")

        FragileEngine.release.set()
        for attempt in range(500):  # closed until the restored engine installs itself
            after = await ask(bot, f"c-2-{attempt}", qty=0.001)
            if after.code != "risk_engine_unavailable":
                break
            await asyncio.sleep(0.01)
        assert (after.verdict, after.code) == ("DENY", "halted")
        assert "before the crash" in after.reason
        await beat(bot, engines, heartbeat(2))
        assert engines.current.state.reason_codes() == {"manual_halt"}


async def test_a_fill_queued_for_a_restarting_engine_is_booked_once(
    start_kernel: Any,
) -> None:
    """A fill the bot sends while the engine restarts is journaled and queued in the
    new engine's inbox before its restore reads the journal: the restore replays it,
    and its bus copy, arriving before the new fence, is not booked a second time."""
    async with fragile(start_kernel) as (harness, engines, bot, bus):
        assert (await ask(bot, "o-1", qty=0.01)).verdict == "ALLOW"
        first = engines.current
        await bus.publish_until(operator("halt", "crash"), lambda: engines.current is not first,
                                "restart")
        await bot.send(Fill(request_id="o-1", symbol="BTCUSDT", side="buy", qty=0.01,
                            price=50_000.0, ts=time.time()))
        await until(lambda: journal_bodies(harness, "order.fill"), "the fill journaled")
        FragileEngine.release.set()
        await until(lambda: hasattr(engines.current, "_state")
                    and engines.current.state.open_orders == {}, "the fill booked")
        engine = engines.current
        await until(lambda: engine._taken.last is not None, "the fill's copy arrived")
        assert engine.state.positions["BTCUSDT"].qty == Decimal("0.01")


def multiplier(value: float, by: str) -> RiskMultiplierChangeRequested:
    return RiskMultiplierChangeRequested(value=value, requested_by=by, reason="test",
                                         ts=time.time())


async def test_a_lower_multiplier_is_applied_and_sent_to_the_bot(
    bot: RawBot, bus: Bus, engines: Engines, harness: KernelHarness,
) -> None:
    await bus.publish_until(multiplier(0.5, "moderator:llm"),
                            lambda: engines.current.state.risk_multiplier == 0.5, "lowered")
    command = await bot.recv()
    assert isinstance(command, Command) and command.action == "set_risk_multiplier"
    assert command.params["risk_multiplier"] == 0.5


async def test_an_adviser_may_not_raise_the_multiplier_but_a_person_may(
    bot: RawBot, bus: Bus, engines: Engines, harness: KernelHarness,
) -> None:
    await bus.publish_until(multiplier(0.5, "moderator:llm"),
                            lambda: engines.current.state.risk_multiplier == 0.5, "lowered")

    def refusals() -> list[dict[str, Any]]:
        return [b for b in journal_bodies(harness, "anomaly.risk")
                if b.get("kind") == "multiplier_refused"]

    await bus.publish_until(multiplier(1.0, "moderator:llm"), refusals, "refusal")
    assert engines.current.state.risk_multiplier == 0.5
    assert "only a person may raise it" in refusals()[0]["detail"]
    await bus.publish_until(multiplier(1.0, "operator:ana"),
                            lambda: engines.current.state.risk_multiplier == 1.0, "raised")
