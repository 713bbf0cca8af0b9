"""The heartbeat monitor with real bot processes: hangs, silent starts, stale feeds, gaps."""

from __future__ import annotations

import time
from typing import Any

import psutil
import pytest

from tests.support.fake_bots import command
from tests.support.watchdog_harness import WatchdogKernel, running, start_watchdog

__all__ = ["start_watchdog"]  # the fixture, used by name

TIMEOUT = 1.5  # heartbeat_timeout_s in the test timings (tests/conftest.py)
QUIET = {"state_interval_s": 60}
"""No periodic report to wake the watchdog by chance: the hang deadline alone must."""


async def freeze_running_bot(harness: WatchdogKernel) -> tuple[int, float]:
    """SIGSTOP the running bot just after a heartbeat; return its pid and the time."""
    (event,) = await harness.wait_state("running")
    await harness.wait_for(lambda: len(harness.events("bot.heartbeat")) >= 3)
    psutil.Process(event["pid"]).suspend()  # SIGSTOP; NtSuspendProcess on Windows
    return event["pid"], time.time()


async def test_a_hung_bot_is_detected_in_time_killed_and_restarted(start_watchdog: Any) -> None:
    harness = await start_watchdog(command("steady"), watchdog=QUIET)
    pid, frozen_at = await freeze_running_bot(harness)
    (hung,) = await harness.wait_state("hung")
    assert hung["_ts"] - frozen_at <= TIMEOUT + 0.5
    assert hung["pid"] == pid and "no heartbeat for" in hung["detail"]
    assert [a["kind"] for a in harness.events("anomaly") if a["kind"] == "bot_hung"]
    await harness.wait_state("running", count=2)
    assert harness.lifecycle("running")[-1]["pid"] != pid
    assert not running(pid)  # killed although stopped: SIGKILL needs no cooperation
    exited = harness.events("bot.exit")[0]
    assert exited["description"].startswith("killed: no heartbeat") and exited["expected"]


async def test_a_hung_bot_halts_trading_when_the_policy_says_halt(start_watchdog: Any) -> None:
    harness = await start_watchdog(command("steady"), watchdog={"on_hang": "halt", **QUIET})
    pid, frozen_at = await freeze_running_bot(harness)
    (hung,) = await harness.wait_state("hung")
    assert hung["_ts"] - frozen_at <= TIMEOUT + 0.5
    (halt,) = await harness.wait_for(lambda: harness.events("risk.halt_request"))
    assert halt["code"] == "bot_hung" and "on_hang is halt" in halt["reason"]
    decision = await harness.order_decision()
    assert (decision.verdict, decision.code) == ("DENY", "bot_hung")
    await harness.wait_for(lambda: harness.events("bot.state")[-1]["state"] == "halted")
    assert not running(pid)
    assert len(harness.lifecycle("starting")) == 1  # left down


async def test_a_bot_that_never_beats_is_restarted_after_the_start_timeout(
    start_watchdog: Any,
) -> None:
    harness = await start_watchdog(command("silent"), watchdog={"start_timeout_s": 0.5})
    (hung,) = await harness.wait_state("hung")
    assert "no heartbeat within 0.5 s of start" in hung["detail"]
    await harness.wait_state("starting", count=2)
    assert "fake bot silent" in harness.events("bot.exit")[0]["last_lines"][0]


async def test_a_stale_feed_is_an_anomaly_but_not_a_hang(start_watchdog: Any) -> None:
    harness = await start_watchdog(command("stale", "--tick-age", "30"))
    (stale,) = await harness.wait_for(
        lambda: [a for a in harness.events("anomaly") if a["kind"] == "stale_tick"])
    assert stale["severity"] == "warning" and "30.0 s old" in stale["detail"]
    state = await harness.wait_for(
        lambda: [s for s in harness.events("bot.state") if s["last_tick_age_s"]])
    assert state[-1]["last_tick_age_s"] == pytest.approx(30.0, abs=0.5)
    assert harness.lifecycle("hung") == []


async def test_a_heartbeat_gap_is_an_anomaly_and_the_bot_keeps_running(
    start_watchdog: Any,
) -> None:
    harness = await start_watchdog(command("gap", "--pause", "1.0"))
    (gap,) = await harness.wait_for(
        lambda: [a for a in harness.events("anomaly") if a["kind"] == "heartbeat_gap"])
    assert "between heartbeats" in gap["detail"]
    assert harness.lifecycle("hung") == [] and len(harness.lifecycle("starting")) == 1
