"""The watchdog's pure decisions, driven by a fake clock (plain numbers)."""

from __future__ import annotations

import msgspec
import pytest

from agents.watchdog.config import WatchdogConfig
from agents.watchdog.policy import (
    KILL_RESERVE_S,
    Health,
    bot_argv,
    connect_endpoint,
    describe_exit,
    hang_check,
    hang_deadline,
    observe_heartbeat,
    on_failure,
    stop_plan,
    tick_age,
)
from bus.protocol import Heartbeat

CFG = WatchdogConfig(heartbeat_timeout_s=5.0, start_timeout_s=15.0, stale_tick_s=5.0,
                     heartbeat_gap_s=2.5, max_restarts=3, restart_window_s=60.0,
                     backoff_initial_s=0.5, backoff_max_s=3.0)


class FakeClock:
    """Seconds on one monotonic line, moved by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def beat(ts: float, tick_age_s: float | None = 0.1, seq: int = 0) -> Heartbeat:
    return Heartbeat(bot_id="qe-1", seq=seq, ts=ts, uptime_s=1.0, equity=10_000.0,
                     realized_pnl=5.0, unrealized_pnl=-1.0,
                     last_tick_ts=None if tick_age_s is None else ts - tick_age_s)


def kinds(findings: tuple[object, ...]) -> list[str]:
    return [f.kind for f in findings]  # type: ignore[attr-defined]


# --- heartbeats ----------------------------------------------------------------------


def test_the_first_heartbeat_is_reported_with_the_start_latency() -> None:
    health, findings = observe_heartbeat(Health(spawned_at=10.0), beat(1e9), 10.25, CFG)
    assert kinds(findings) == ["first_heartbeat"]
    assert "0.25 s after start" in findings[0].detail
    assert (health.beats, health.last_beat_at, health.last) == (1, 10.25, beat(1e9))


def test_regular_heartbeats_find_nothing_and_a_late_one_is_a_gap() -> None:
    clock = FakeClock()
    health = Health(spawned_at=clock.now)
    health, _ = observe_heartbeat(health, beat(1e9), clock.advance(0.2), CFG)
    for _ in range(5):
        health, findings = observe_heartbeat(health, beat(1e9), clock.advance(1.0), CFG)
        assert findings == ()
    health, findings = observe_heartbeat(health, beat(1e9), clock.advance(3.0), CFG)
    assert kinds(findings) == ["heartbeat_gap"]
    assert "3.00 s between heartbeats" in findings[0].detail


def test_a_stale_feed_is_flagged_once_and_its_recovery_once() -> None:
    health, _ = observe_heartbeat(Health(spawned_at=0.0), beat(1e9), 0.1, CFG)
    health, findings = observe_heartbeat(health, beat(1e9, tick_age_s=6.0), 1.1, CFG)
    assert kinds(findings) == ["stale_tick"] and health.stale_tick
    assert "6.0 s old" in findings[0].detail
    health, findings = observe_heartbeat(health, beat(1e9, tick_age_s=7.0), 2.1, CFG)
    assert findings == ()
    health, findings = observe_heartbeat(health, beat(1e9, tick_age_s=0.2), 3.1, CFG)
    assert kinds(findings) == ["tick_recovered"] and not health.stale_tick


def test_the_tick_age_is_on_the_bots_own_clock_and_absent_ticks_are_not_stale() -> None:
    assert tick_age(beat(500.0, tick_age_s=2.0)) == pytest.approx(2.0)
    assert tick_age(beat(500.0, tick_age_s=None)) is None
    health, findings = observe_heartbeat(Health(spawned_at=0.0), beat(1e9, None), 0.1, CFG)
    assert kinds(findings) == ["first_heartbeat"] and not health.stale_tick


# --- hangs ---------------------------------------------------------------------------


def test_a_bot_that_never_beats_is_judged_by_the_start_timeout() -> None:
    health = Health(spawned_at=100.0)
    assert hang_deadline(health, CFG) == 115.0
    assert hang_check(health, 114.99, CFG) is None
    failure, reason = hang_check(health, 115.0, CFG)  # type: ignore[misc]
    assert failure == "no_heartbeat" and "within 15 s of start" in reason


def test_silence_after_heartbeats_is_a_hang_at_exactly_the_timeout() -> None:
    clock = FakeClock()
    health, _ = observe_heartbeat(Health(spawned_at=clock.now), beat(1e9), clock.advance(1), CFG)
    assert hang_deadline(health, CFG) == clock.now + 5.0
    assert hang_check(health, clock.now + 4.999, CFG) is None
    failure, reason = hang_check(health, clock.now + 5.0, CFG)  # type: ignore[misc]
    assert failure == "hang" and "no heartbeat for 5.00 s" in reason


# --- failures ------------------------------------------------------------------------


def test_a_crash_loop_backs_off_exponentially_then_gives_up() -> None:
    clock, delays = FakeClock(), []
    history: tuple[float, ...] = ()
    for _ in range(CFG.max_restarts):
        action = on_failure("crash", "exited with code 1", history, clock.advance(0.1), CFG)
        assert action.kind == "restart"
        history = action.history
        delays.append(action.delay_s)
        clock.advance(action.delay_s)
    assert delays == [0.5, 1.0, 2.0]
    action = on_failure("crash", "exited with code 1", history, clock.advance(0.1), CFG)
    assert action.kind == "give_up" and action.code == "bot_gave_up"
    assert "4 times within 60 s" in action.reason and "exited with code 1" in action.reason


def test_the_backoff_is_capped_and_old_crashes_leave_the_window() -> None:
    cfg = msgspec.structs.replace(CFG, max_restarts=10)
    history: tuple[float, ...] = ()
    for t in range(6):
        action = on_failure("crash", "x", history, float(t), cfg)
        history = action.history
    assert action.delay_s == cfg.backoff_max_s
    later = on_failure("crash", "x", history, 1000.0, cfg)
    assert later.history == (1000.0,) and later.delay_s == cfg.backoff_initial_s


def test_a_hang_restarts_or_halts_by_policy() -> None:
    restart = on_failure("hang", "no heartbeat for 5 s", (), 1.0, CFG)
    assert restart.kind == "restart" and restart.history == (1.0,)
    halt_cfg = msgspec.structs.replace(CFG, on_hang="halt")
    halt = on_failure("hang", "no heartbeat for 5 s", (), 1.0, halt_cfg)
    assert halt.kind == "halt" and halt.code == "bot_hung" and "on_hang is halt" in halt.reason
    # Never beating at all is a failed start, not a hang of a trading bot: retried.
    assert on_failure("no_heartbeat", "silent", (), 1.0, halt_cfg).kind == "restart"


def test_a_bot_that_cannot_be_started_is_given_up_at_once() -> None:
    action = on_failure("spawn", "command 'qe' not found", (5.0,), 6.0, CFG)
    assert action.kind == "give_up" and action.code == "bot_gave_up"
    assert action.history == (5.0,) and action.reason.startswith("cannot start the bot")


def test_zero_restarts_allowed_gives_up_on_the_first_crash() -> None:
    cfg = msgspec.structs.replace(CFG, max_restarts=0)
    assert on_failure("crash", "x", (), 0.0, cfg).kind == "give_up"


# --- stopping ------------------------------------------------------------------------


def test_without_a_budget_the_configured_grace_periods_apply() -> None:
    plan = stop_plan(CFG)
    assert (plan.shutdown_wait_s, plan.terminate_wait_s) == (3.0, 2.0)


@pytest.mark.parametrize("budget", [0.0, 0.3, 1.0, 2.0, 4.5, 100.0])
def test_the_grace_periods_shrink_to_leave_time_for_the_kill(budget: float) -> None:
    plan = stop_plan(CFG, budget)
    assert plan.shutdown_wait_s >= 0 and plan.terminate_wait_s >= 0
    total = plan.shutdown_wait_s + plan.terminate_wait_s
    assert total <= max(0.0, budget - KILL_RESERVE_S) + 1e-9
    assert total <= CFG.shutdown_grace_s + CFG.terminate_grace_s


# --- words and commands --------------------------------------------------------------


@pytest.mark.parametrize(("code", "text"), [
    (0, "exited with code 0"), (1, "exited with code 1"),
    (-9, "killed by signal 9 (SIGKILL)"), (-15, "killed by signal 15 (SIGTERM)"),
    (-200, "killed by signal 200 (unknown signal)"), (0xC0000005, "exited with code 0xc0000005"),
    (None, "exit status unknown"),
])
def test_exit_statuses_are_described_for_people(code: int | None, text: str) -> None:
    assert text in describe_exit(code)


def test_the_bot_gets_its_mode_and_the_link_endpoint() -> None:
    assert bot_argv(["py", "run_bot.py"], "demo", "tcp://127.0.0.1:7710") == [
        "py", "run_bot.py", "--mode=demo", "--gateway", "tcp://127.0.0.1:7710"]


@pytest.mark.parametrize(("bound", "connect"), [
    ("tcp://127.0.0.1:7710", "tcp://127.0.0.1:7710"),
    ("tcp://*:7710", "tcp://127.0.0.1:7710"),
    ("tcp://0.0.0.0:7710", "tcp://127.0.0.1:7710"),
    ("tcp://[::]:7710", "tcp://[::1]:7710"),
    ("ipc:///tmp/link", "ipc:///tmp/link"),
])
def test_a_wildcard_host_is_reached_on_loopback(bound: str, connect: str) -> None:
    assert connect_endpoint(bound) == connect


def test_a_wildcard_port_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"gateway\.endpoint in kernel\.yaml"):
        connect_endpoint("tcp://127.0.0.1:*")
