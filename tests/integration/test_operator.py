"""Operator actions over the control socket are journaled with who and why."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from kernel.console.control_client import ControlRefused, ask
from kernel.control_protocol import (
    ActionAccepted,
    ActionAnswered,
    CloseAllRequest,
    HaltRequest,
    ModeRequest,
    ResumeRequest,
    SnapshotReply,
    SnapshotRequest,
    StatusRequest,
)
from kernel.journal import read_journal
from tests.conftest import KernelHarness


async def control(harness: KernelHarness, request: Any) -> Any:
    return await asyncio.to_thread(ask, harness.endpoints["control"], request)


def journaled(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic)
    return [msgspec.msgpack.decode(r.payload) | {"_source": r.source} for r in rows]


@pytest.mark.parametrize(("request_", "action"), [
    (HaltRequest(reason="news at 14:00", user="ana", wait_s=0.3), "halt"),
    (ResumeRequest(reason="news passed", user="ana", confirmed=True, wait_s=0.3), "resume"),
    (CloseAllRequest(reason="flatten before the weekend", user="ana", wait_s=0.3), "close_all"),
])
async def test_trading_actions_are_journaled_and_say_plainly_when_no_engine_answers(
    start_kernel: Any, request_: Any, action: str
) -> None:
    harness: KernelHarness = await start_kernel()  # no risk engine: nobody answers
    reply = await control(harness, request_)
    assert isinstance(reply, ActionAnswered) and reply.action == action
    assert reply.outcome == "unanswered"
    assert "did not answer within 0.3 s" in reply.detail and "may not have been" in reply.detail
    [event] = journaled(harness, "operator.command")  # durable: present at reply time
    assert (event["action"], event["user"], event["reason"]) == (
        action, "ana", request_.reason)
    assert event["_source"] == "operator"
    assert event["request_id"] == reply.request_id and reply.request_id


async def test_a_mode_change_is_journaled_and_shown_in_status(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel()
    reply = await control(harness, ModeRequest(mode="off", reason="maintenance", user="bo"))
    assert isinstance(reply, ActionAccepted)
    [event] = journaled(harness, "kernel.mode")
    assert (event["mode"], event["requested_by"], event["reason"]) == (
        "off", "operator:bo", "maintenance")
    assert (await control(harness, StatusRequest())).mode == "off"


async def test_a_reason_is_required(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel()
    with pytest.raises(ControlRefused, match="reason"):
        await control(harness, HaltRequest(reason="", user="ana"))
    assert journaled(harness, "operator.command") == []


async def test_the_snapshot_carries_the_latest_state_messages(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel()
    await control(harness, ModeRequest(mode="demo", reason="test", user="bo"))
    for _ in range(200):  # the cache sees the bus a moment after the reply
        snapshot = await control(harness, SnapshotRequest())
        if "kernel.mode" in snapshot.latest:
            break
        await asyncio.sleep(0.01)
    assert isinstance(snapshot, SnapshotReply)
    assert msgspec.msgpack.decode(snapshot.latest["kernel.mode"])["mode"] == "demo"
    assert "kernel.state" in snapshot.latest
