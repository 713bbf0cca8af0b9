"""The watchdog actor's message handling, by calling ``handle()``: no process, no socket."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from agents.watchdog._report import BotRun
from agents.watchdog.actor import Watchdog
from agents.watchdog.policy import Health
from bus.protocol import Heartbeat, Hello, Message
from kernel.actor import ActorContext, KernelServices
from kernel.events import AnomalyDetected, BotLifecycleChanged, ModeChangeRequested
from kernel.registry import watchdog_slice
from kernel.settings import load_settings
from tests.conftest import write_config


class Collected:
    """Stands in for the emitter: keeps what the actor publishes."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def emit(self, message: Message, *, topic: str | None = None) -> bytes:
        self.messages.append(message)
        return b""

    async def emit_durable(self, message: Message, *, topic: str | None = None) -> int:
        self.messages.append(message)
        return len(self.messages)


class FakeBot:
    pid = 4242

    def owns(self, pid: int) -> bool:
        return pid == self.pid

    def tail(self) -> list[str]:
        return []


def beat(bot_id: str = "qe-1", tick_age_s: float = 0.1) -> Heartbeat:
    now = time.time()
    return Heartbeat(bot_id=bot_id, seq=1, ts=now, uptime_s=1.0, equity=9_990.0,
                     realized_pnl=-10.0, unrealized_pnl=0.0, last_tick_ts=now - tick_age_s)


@pytest.fixture
async def watchdog(tmp_path: Path) -> tuple[Watchdog, Collected]:
    settings = load_settings(write_config(tmp_path, ports={"link": 7710}, mode="paper"))
    emitter = Collected()
    services = KernelServices(set_gate=lambda gate: None, send_command=lambda *a, **k: 0,
                              request_stop=lambda reason: None)
    ctx = ActorContext(name="watchdog", emitter=emitter, journal=None,  # type: ignore[arg-type]
                       clock=time.time, services=services)
    actor = Watchdog(config=watchdog_slice(settings))
    await actor.start(ctx)
    loop_time = asyncio.get_running_loop().time()
    actor._run = BotRun(bot=FakeBot(), mode="paper",  # type: ignore[arg-type]
                        health=Health(spawned_at=loop_time))
    return actor, emitter


def of(messages: Any, kind: type) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


async def test_only_the_started_process_binds_the_bot_id(watchdog: Any) -> None:
    actor, _ = watchdog
    stranger = await actor.handle(Hello(bot_id="other", mode="paper", pid=1, version=""))
    (note,) = of(stranger, AnomalyDetected)
    assert note.kind == "bot_unrecognised" and "pid 4242" in note.detail
    assert await actor.handle(Hello(bot_id="qe-1", mode="paper", pid=4242, version="")) == ()
    assert actor._run.bot_id == "qe-1"


async def test_the_first_heartbeat_means_running_and_moves_the_hang_deadline(
    watchdog: Any,
) -> None:
    actor, emitter = watchdog
    await actor.handle(Hello(bot_id="qe-1", mode="paper", pid=4242, version=""))
    assert await actor.handle(beat()) == []
    (running,) = of(emitter.messages, BotLifecycleChanged)
    assert (running.state, running.pid, running.bot_id) == ("running", 4242, "qe-1")
    summary = emitter.messages[-1]
    assert (summary.state, summary.equity, summary.realized_pnl) == ("running", 9_990.0, -10.0)
    assert actor._events.qsize() == 1  # wakes the owning task to re-arm the hang timer


async def test_a_stale_tick_is_returned_as_an_anomaly_and_strangers_are_ignored(
    watchdog: Any,
) -> None:
    actor, _ = watchdog
    await actor.handle(Hello(bot_id="qe-1", mode="paper", pid=4242, version=""))
    await actor.handle(beat())
    (stale,) = await actor.handle(beat(tick_age_s=30.0))
    assert isinstance(stale, AnomalyDetected) and stale.kind == "stale_tick"
    assert await actor.handle(beat(bot_id="someone-else", tick_age_s=30.0)) == ()


async def test_mode_requests_are_queued_for_the_owning_task(watchdog: Any) -> None:
    actor, _ = watchdog
    request = ModeChangeRequested(mode="off", requested_by="ana", reason="maintenance",
                                  ts=time.time())
    assert await actor.handle(request) == ()
    assert actor._events.get_nowait().request == request


async def test_a_bot_started_by_hand_while_ours_is_off_is_shown_as_external(
    watchdog: Any,
) -> None:
    actor, emitter = watchdog
    actor._run = None
    actor._report.set_state("off", "mode is off: the bot is not started", None)
    assert await actor.handle(Hello(bot_id="qe-1", mode="paper", pid=99, version="")) == ()
    shown = emitter.messages[-1]
    assert (shown.state, shown.bot_id, shown.pid) == ("external", "qe-1", 99)
    assert "started outside the watchdog" in shown.detail
    assert await actor.handle(beat()) == ()
    summary = actor._report.summary(None)
    assert (summary.state, summary.equity, summary.pid) == ("external", 9_990.0, 99)
    assert summary.last_heartbeat_age_s is not None
    actor._report.set_state("starting", "mode paper", None)  # ours again: external forgotten
    assert actor._report.summary(None).pid is None


async def test_a_fleet_watchdog_reports_first_at_once_then_in_its_own_slot(
    tmp_path: Path,
) -> None:
    """Twenty watchdogs started together reported together every period: each keeps
    its slot (docs/fleet.md, "Where the tail comes from")."""
    settings = load_settings(write_config(tmp_path, ports={"link": 7711}, mode="paper"))
    services = KernelServices(set_gate=lambda gate: None, send_command=lambda *a, **k: 0,
                              request_stop=lambda reason: None)
    emitter = Collected()
    ctx = ActorContext(name="watchdog", emitter=emitter, journal=None,  # type: ignore[arg-type]
                       clock=time.time, services=services)
    actor = Watchdog(config=watchdog_slice(settings), report_phase=0.25)
    await actor.start(ctx)
    every = actor._cfg.state_interval_s
    reports = []
    for now in (100.0, 100.0 + every, 100.0 + 1.25 * every, 100.0 + 2.2 * every,
                100.0 + 2.25 * every):
        before = len(emitter.messages)
        await actor._on_time(now)
        reports.append(len(emitter.messages) > before)
    assert reports == [True, False, True, False, True]
