"""The moderator in a two-bot kernel: its REDUCE_RISK is the bot's most at risk, alone.

qe-2 is at 60 % of its daily loss limit and qe-1 is calm; whichever reported last,
the offline moderator's cut lowers qe-2's multiplier and leaves qe-1's as it was.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import msgspec

from agents.moderator.actor import Moderator
from kernel.console.control_client import ask
from kernel.control_protocol import ModeratorAskRequest, SnapshotReply, SnapshotRequest
from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.integration._fleet import FleetEngines, beat, ready
from tests.integration.test_fleet_switches import TWO, WIDE


def bodies(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=10_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


async def until(predicate: Any, what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_reduce_risk_lowers_the_multiplier_of_the_bot_at_risk_alone(
    start_kernel: Any,
) -> None:
    fleet = FleetEngines(["qe-1", "qe-2"])
    harness: KernelHarness = await start_kernel(actors=[*fleet.specs, Moderator], bots=TWO,
                                                risk_yaml=WIDE)
    link, control = harness.endpoints["bot_link"], harness.endpoints["control"]
    held = [("BTCUSDT", 0.05, 50_000.0, 50_000.0)]
    two = await ready(link, fleet, "qe-2", positions=held)
    one = await ready(link, fleet, "qe-1")
    try:  # qe-2 down 180 of its 300: 60 %; qe-1 calm, and the newest to report
        await beat(two, fleet, "qe-2", 2, equity=9_820.0, marks={"BTCUSDT": 46_400.0},
                   positions=[("BTCUSDT", 0.05, 50_000.0, 46_400.0)])
        await beat(one, fleet, "qe-1", 2)

        async def seen() -> bool:
            snap: SnapshotReply = await asyncio.to_thread(ask, control, SnapshotRequest())
            payload = snap.latest.get("risk.state/qe-2")
            body = msgspec.msgpack.decode(payload) if payload is not None else {}
            return float(body.get("daily_loss") or 0) == 180
        await until(seen, "qe-2's loss in the state cache")
        await asyncio.sleep(0.6)  # a snapshot interval: the moderator heard both bots
        request_id = f"ask-{uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(ask, control, ModeratorAskRequest(
            request_id=request_id, reason="test", user="ana"), timeout_s=10)

        async def cut() -> bool:
            return fleet["qe-2"].risk_multiplier < 1.0
        await until(cut, "qe-2's multiplier cut")

        async def answered() -> bool:  # after the cut, once today's replay is its evidence
            return any(a["request_id"] == request_id
                       for a in bodies(harness, "moderator.applied"))

        await until(answered, "the moderator's applied advice", timeout_s=60)
    finally:
        one.close()
        two.close()
    assert fleet["qe-1"].risk_multiplier == 1.0
    (requested,) = bodies(harness, "risk.multiplier_request")
    assert requested["bot_id"] == "qe-2" and requested["requested_by"] == "moderator:offline"
    applied = [a for a in bodies(harness, "moderator.applied")
               if a["request_id"] == request_id]
    assert applied and "for bot qe-2 alone" in applied[0]["detail"]
    advice = [a for a in bodies(harness, "moderator.advice") if a["request_id"] == request_id]
    assert advice[0]["summary"]["bot_id"] == "qe-2"
