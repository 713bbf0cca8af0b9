"""What the watchdog decides, as plain functions over numbers: no clock, no I/O.

Every judgement about the bot lives here: when silence means hung, when a
heartbeat reveals a stale feed or a gap, what a crash or a hang leads to
(restart after a backoff, give up, halt), and how a stop's grace periods fit the
kernel's shutdown budget. Times are seconds on one monotonic clock, passed in,
so the tests drive it with plain numbers. The restart limit itself is the
kernel's OTP rule (:func:`kernel.supervision.decide_restart`), shared with the
actor supervisor rather than written twice.
"""

from __future__ import annotations

import signal
from typing import Literal, TypeAlias

import msgspec

from agents.watchdog.config import WatchdogConfig
from bus.protocol import BotMode, Heartbeat, WatchdogCode
from kernel.supervision import RestartPolicy, decide_restart

Failure: TypeAlias = Literal["crash", "hang", "no_heartbeat", "spawn"]
"""``no_heartbeat``: silent since it started; ``spawn``: could not be started at all."""

KILL_RESERVE_S = 0.5
"""Part of a shutdown budget kept for the kill and the last wait."""


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """What the watchdog knows about the bot process it runs now."""

    spawned_at: float
    last_beat_at: float | None = None
    beats: int = 0
    stale_tick: bool = False
    last: Heartbeat | None = None


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """Something a heartbeat revealed; the actor turns it into an event."""

    kind: Literal["first_heartbeat", "heartbeat_gap", "stale_tick", "tick_recovered"]
    detail: str


class Action(msgspec.Struct, frozen=True, kw_only=True):
    """What to do after a failure."""

    kind: Literal["restart", "give_up", "halt"]
    reason: str
    delay_s: float = 0.0
    history: tuple[float, ...] = ()
    """Failure times still inside the restart window, this one included."""

    @property
    def code(self) -> WatchdogCode:
        """For ``give_up`` and ``halt``: the stable code the order gate denies with.

        It follows from ``kind``, so the two cannot disagree; a restart closes no
        gate and never reads it."""
        return "bot_hung" if self.kind == "halt" else "bot_gave_up"


class StopPlan(msgspec.Struct, frozen=True, kw_only=True):
    """How long to wait after asking politely, then after terminating, before killing."""

    shutdown_wait_s: float
    terminate_wait_s: float


def observe_heartbeat(
    health: Health, beat: Heartbeat, now: float, cfg: WatchdogConfig
) -> tuple[Health, tuple[Finding, ...]]:
    """Take one heartbeat in; report a first beat, a gap, a feed going stale or back."""
    findings: list[Finding] = []
    if health.beats == 0:
        findings.append(Finding(kind="first_heartbeat",
                                detail=f"first heartbeat {now - health.spawned_at:.2f} s "
                                       "after start"))
    elif health.last_beat_at is not None and now - health.last_beat_at > cfg.heartbeat_gap_s:
        findings.append(Finding(kind="heartbeat_gap",
                                detail=f"{now - health.last_beat_at:.2f} s between heartbeats "
                                       f"(gap limit {cfg.heartbeat_gap_s:g} s); the bot beats "
                                       "again"))
    stale = health.stale_tick
    age = tick_age(beat)
    if age is not None and age > cfg.stale_tick_s and not stale:
        stale = True
        findings.append(Finding(kind="stale_tick",
                                detail=f"last market tick {age:.1f} s old "
                                       f"(limit {cfg.stale_tick_s:g} s): the feed looks stale"))
    elif stale and (age is None or age <= cfg.stale_tick_s):
        stale = False
        findings.append(Finding(kind="tick_recovered", detail="market ticks are fresh again"))
    updated = Health(spawned_at=health.spawned_at, last_beat_at=now, beats=health.beats + 1,
                     stale_tick=stale, last=beat)
    return updated, tuple(findings)


def tick_age(beat: Heartbeat) -> float | None:
    """Age of the last tick on the bot's own clock, so clock skew does not count."""
    return None if beat.last_tick_ts is None else max(0.0, beat.ts - beat.last_tick_ts)


def hang_deadline(health: Health, cfg: WatchdogConfig) -> float:
    """When silence turns into a hang, if nothing arrives before then."""
    if health.last_beat_at is None:
        return health.spawned_at + cfg.start_timeout_s
    return health.last_beat_at + cfg.heartbeat_timeout_s


def hang_check(health: Health, now: float, cfg: WatchdogConfig) -> tuple[Failure, str] | None:
    """None while the bot is healthy, else the kind of silence and a sentence about it."""
    if now < hang_deadline(health, cfg):
        return None
    if health.last_beat_at is None:
        return "no_heartbeat", (f"no heartbeat within {cfg.start_timeout_s:g} s of start "
                                "(start_timeout_s)")
    return "hang", (f"no heartbeat for {now - health.last_beat_at:.2f} s "
                    f"(heartbeat_timeout_s {cfg.heartbeat_timeout_s:g} s)")


def restart_policy(cfg: WatchdogConfig) -> RestartPolicy:
    return RestartPolicy(max_restarts=cfg.max_restarts, window_s=cfg.restart_window_s,
                         backoff_initial_s=cfg.backoff_initial_s, backoff_max_s=cfg.backoff_max_s)


def on_failure(
    failure: Failure, detail: str, history: tuple[float, ...], now: float, cfg: WatchdogConfig
) -> Action:
    """Restart with backoff, give up past the limit, or halt a hung bot by policy.

    A bot that cannot be started at all (``spawn``: the command does not exist)
    is given up on at once: retrying cannot fix a wrong path, and a restart loop
    would only hide the message that says how to fix it.
    """
    if failure == "spawn":
        return Action(kind="give_up", history=history,
                      reason=f"cannot start the bot: {detail}")
    if failure == "hang" and cfg.on_hang == "halt":
        return Action(kind="halt", history=history,
                      reason=f"the bot hung ({detail}) and on_hang is halt: it stays down")
    decision = decide_restart(history, now, restart_policy(cfg))
    if not decision.restart:
        return Action(kind="give_up", history=decision.history,
                      reason=f"the bot failed too often: {decision.reason}; last: {detail}")
    return Action(kind="restart", delay_s=decision.delay_s, history=decision.history,
                  reason=f"{decision.reason}, after {decision.delay_s:g} s")


def stop_plan(cfg: WatchdogConfig, budget_s: float | None = None) -> StopPlan:
    """Grace periods that fit ``budget_s`` (the kernel's shutdown timeout), if any.

    The kernel abandons an actor's stop after its timeout; the kill must happen
    before that, so the polite waits shrink rather than the kill being skipped.
    """
    if budget_s is None:
        return StopPlan(shutdown_wait_s=cfg.shutdown_grace_s,
                        terminate_wait_s=cfg.terminate_grace_s)
    usable = max(0.0, budget_s - KILL_RESERVE_S)
    shutdown = min(cfg.shutdown_grace_s, usable * 0.6)
    return StopPlan(shutdown_wait_s=shutdown,
                    terminate_wait_s=min(cfg.terminate_grace_s, usable - shutdown))


def describe_exit(code: int | None) -> str:
    """A sentence for an exit status, naming the signal on POSIX."""
    if code is None:
        return "ended (exit status unknown: not our child)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-code} ({name})"
    if code > 0xFFFF:  # Windows NTSTATUS values such as 0xC0000005
        return f"exited with code {code:#x}"
    return f"exited with code {code}"


def bot_argv(command: list[str], mode: BotMode, endpoint: str) -> list[str]:
    """The configured command plus the mode and the kernel's bot link endpoint."""
    return [*command, f"--mode={mode}", "--gateway", endpoint]


def connect_endpoint(bind_endpoint: str) -> str:
    """Where a local bot connects to reach a bot link bound at ``bind_endpoint``.

    A wildcard host (``*``, ``0.0.0.0``) becomes loopback; a wildcard port cannot
    be known before the bind, so it is refused with the fix.
    """
    transport, sep, address = bind_endpoint.partition("://")
    if transport != "tcp" or not sep:
        return bind_endpoint
    host, _, port = address.rpartition(":")
    if port in ("*", "0", ""):
        raise ValueError(f"the bot link endpoint {bind_endpoint} has no fixed port, so the "
                         "watchdog cannot tell the bot where to connect. Fix: set "
                         "gateway.endpoint in kernel.yaml to a fixed port, e.g. "
                         "tcp://127.0.0.1:7710.")
    if host in ("*", "0.0.0.0", ""):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"tcp://{host}:{port}"
