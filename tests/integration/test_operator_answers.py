"""Operator commands wait for the risk engine's journaled answer, through a real kernel.

Before, the control socket replied "requested" as soon as the request was
journaled: ``kernel risk-multiplier 5`` looked done although the engine refused
it, and the refusal showed only in the tap. Now the reply carries the engine's
answer (applied, or refused with its reason), or says plainly that none came.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bus.protocol import Command
from kernel.console.control_client import ask
from kernel.control_protocol import (
    ActionAnswered,
    CloseAllRequest,
    HaltRequest,
    ResumeRequest,
    RiskMultiplierRequest,
    StatusReply,
    StatusRequest,
)
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    beat,
    heartbeat,
    journal_bodies,
    ready_bot,
)
from tests.support.link import RawBot


@pytest.fixture
def engines() -> Engines:
    return Engines()


@pytest.fixture
async def harness(start_kernel: Any, engines: Engines) -> KernelHarness:
    h: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    return h


@pytest.fixture
async def bot(harness: KernelHarness, engines: Engines) -> AsyncIterator[RawBot]:
    """Said hello; holds 0.1 BTC at 50,000 (its first heartbeat, taken by the engine)."""
    held = heartbeat(1, positions=[("BTCUSDT", 0.1, 50_000.0, 50_000.0)])
    raw = await ready_bot(harness, engines, held)
    yield raw
    raw.close()


async def control(harness: KernelHarness, request: Any) -> Any:
    return await asyncio.to_thread(ask, harness.endpoints["control"], request, timeout_s=10)


async def test_a_multiplier_outside_the_bounds_is_refused_with_the_reason(
    harness: KernelHarness, engines: Engines,
) -> None:
    reply = await control(harness, RiskMultiplierRequest(value=5, reason="go big", user="ana"))
    assert isinstance(reply, ActionAnswered)
    assert (reply.action, reply.outcome) == ("risk_multiplier", "refused")
    assert "outside its bounds [0.1, 1]" in reply.detail
    assert engines.current.state.risk_multiplier == 1.0
    [answer] = journal_bodies(harness, "operator.answer")  # journaled before the reply
    assert (answer["request_id"], answer["outcome"]) == (reply.request_id, "refused")
    [asked] = journal_bodies(harness, "risk.multiplier_request")
    assert asked["request_id"] == reply.request_id


async def test_a_multiplier_within_the_bounds_is_applied_and_the_bot_told_who_and_why(
    harness: KernelHarness, engines: Engines, bot: RawBot,
) -> None:
    reply = await control(harness, RiskMultiplierRequest(value=0.5, reason="thin market",
                                                         user="ana"))
    assert (reply.outcome, reply.detail) == ("applied", "risk multiplier 1 -> 0.5")
    assert engines.current.state.risk_multiplier == 0.5
    command = await bot.recv()
    assert isinstance(command, Command) and command.action == "set_risk_multiplier"
    assert command.params["risk_multiplier"] == 0.5
    assert command.params["by"] == "operator:ana"
    assert "thin market" in str(command.params["reason"])
    assert "until a person changes it" in str(command.params["until"])
    later = RawBot(harness.endpoints["bot_link"])  # a bot that connects now is told too
    try:
        welcome = await later.greet()  # one bot at a time: the same bot (qe-1) reconnecting
    finally:
        later.close()
    assert (welcome.risk_multiplier, welcome.risk_multiplier_by) == (0.5, "operator:ana")
    assert welcome.risk_multiplier_reason == "thin market"
    assert welcome.risk_multiplier_until.startswith("until a person changes it")


async def test_halt_then_resume_after_a_limit_halt_needs_confirmation(
    harness: KernelHarness, engines: Engines, bot: RawBot,
) -> None:
    halted = await control(harness, HaltRequest(reason="CPI in 5 min", user="ana"))
    assert (halted.action, halted.outcome) == ("halt", "applied")
    assert halted.detail.startswith("trading HALTED") and "CPI in 5 min" in halted.detail
    resumed = await control(harness, ResumeRequest(reason="CPI out", user="ana"))
    assert (resumed.outcome, resumed.detail) == ("applied", "trading ACTIVE")

    await beat(bot, engines, heartbeat(2, equity=9_650.0, marks={"BTCUSDT": 46_500.0},
                                       positions=[("BTCUSDT", 0.1, 50_000.0, 46_500.0)]))
    assert engines.current.state.trading_state == "HALTED"  # 350 USDT down: daily loss
    refused = await control(harness, ResumeRequest(reason="looks fine", user="ana"))
    assert refused.outcome == "refused" and "kernel resume --yes" in refused.detail
    assert engines.current.state.trading_state == "HALTED"
    confirmed = await control(harness, ResumeRequest(reason="reviewed", user="ana",
                                                     confirmed=True))
    assert (confirmed.outcome, confirmed.detail) == ("applied", "trading ACTIVE")


async def test_close_all_says_when_no_bot_can_hear_it(harness: KernelHarness) -> None:
    reply = await control(harness, CloseAllRequest(reason="weekend", user="ana"))
    assert (reply.action, reply.outcome) == ("close_all", "applied")
    assert "no bot is connected to receive close_all: close the positions by hand" in \
        reply.detail


async def test_a_command_waiting_for_the_engine_does_not_hold_up_status(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel()  # no engine: the halt waits its 2 s out
    waiting = asyncio.create_task(control(harness, HaltRequest(reason="x", user="ana",
                                                               wait_s=2)))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    status = await control(harness, StatusRequest())
    assert isinstance(status, StatusReply) and time.monotonic() - started < 1.0
    assert not waiting.done()
    assert (await waiting).outcome == "unanswered"
