"""What the watchdog tells the world: lifecycle steps, exits, anomalies, its state.

Kept apart from the actor so that the actor reads as what it does, and this as
what a person sees of it in ``kernel tap``, the journal and ``kernel status``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agents.watchdog._bot_process import BotProcess
from agents.watchdog.messages import BotExited, BotState, BotStateReported
from agents.watchdog.policy import Health, describe_exit, tick_age
from bus.protocol import BotMode, Heartbeat, Hello, Mode
from kernel.actor import ActorContext
from kernel.events import AnomalyDetected, BotLifecycleChanged, Severity

Lifecycle = Literal["starting", "running", "hung", "crashed", "restarting", "stopped", "gave_up"]


@dataclass(slots=True)
class BotRun:
    """One bot process and what is known about it."""

    bot: BotProcess
    mode: BotMode
    health: Health
    bot_id: str = ""
    """Learnt from the bot's ``hello`` (its pid is ours); heartbeats are matched by it."""


class Reporter:
    """Publishes on the watchdog's behalf and remembers what ``bot.state`` says."""

    def __init__(self, ctx: ActorContext, mode: Mode, now: Callable[[], float]) -> None:
        self._ctx = ctx
        self._now = now
        self.mode = mode
        self.state: BotState = "off"
        self.detail = ""
        self.bot_id = "bot"
        self.restarts = 0
        self.last_exit = ""
        self.last_exit_code: int | None = None
        self._external: Hello | None = None
        self._external_beat: tuple[float, Heartbeat] | None = None
        self.fleet_id = ""
        """In a fleet, the one bot this watchdog reports on, even while it is down."""

    def set_state(self, state: BotState, detail: str, run: BotRun | None, *,
                  lifecycle: Lifecycle | None = None, pid: int | None = None) -> None:
        """Move to ``state``; publish the lifecycle step (if any) and the summary."""
        self.state, self.detail = state, detail
        if state != "external":
            self._external = self._external_beat = None
        if lifecycle is not None:
            self.lifecycle(lifecycle, detail, pid if pid is not None or run is None
                           else run.bot.pid)
        self._ctx.publish(self.summary(run))

    def external(self, hello: Hello) -> None:
        """A bot started by hand while the watchdog's own is not running: shown, so the
        dashboard and ``kernel status`` are not blank while it trades, but not owned."""
        self.bot_id, self._external, self._external_beat = hello.bot_id, hello, None
        self.set_state("external", f"{hello.bot_id} (pid {hello.pid}, {hello.mode}) was "
                       "started outside the watchdog: it is not restarted if it stops, nor "
                       "stopped by `kernel mode`", None)

    def is_external(self, bot_id: str) -> bool:
        return self._external is not None and self._external.bot_id == bot_id

    def external_beat(self, beat: Heartbeat) -> None:
        self._external_beat = (self._now(), beat)

    def external_silence_s(self) -> float | None:
        """Seconds since the external bot's last heartbeat (or its hello), None when no
        external bot has said hello."""
        if self._external is None:
            return None
        seen = self._external_beat[0] if self._external_beat is not None else None
        return None if seen is None else self._now() - seen

    def lifecycle(self, state: Lifecycle, detail: str, pid: int | None) -> None:
        self._ctx.publish(BotLifecycleChanged(bot_id=self.bot_id, state=state,
                                              ts=self._ctx.clock(), detail=detail[:4096],
                                              pid=pid))

    def anomaly(self, kind: str, severity: Severity, detail: str) -> AnomalyDetected:
        return AnomalyDetected(kind=kind, severity=severity, ts=self._ctx.clock(),
                               source=self._ctx.name, detail=detail[:4096])

    def exited(self, run: BotRun, code: int | None, *, expected: bool,
               why: str = "") -> BotExited:
        """Publish how a bot process ended, with the last lines it printed."""
        exited = BotExited(
            pid=run.bot.pid, exit_code=code, description=(why or describe_exit(code))[:4096],
            expected=expected, mode=run.mode, ts=self._ctx.clock(),
            uptime_s=max(0.0, self._now() - run.health.spawned_at),
            last_lines=[line[:4096] for line in run.bot.tail()])
        self.last_exit, self.last_exit_code = exited.description, code
        self._ctx.publish(exited)
        return exited

    def summary(self, run: BotRun | None) -> BotStateReported:
        if run is None and self._external is not None:
            return self._external_summary(self._external)
        now = self._now()
        health = run.health if run is not None else None
        beat = health.last if health is not None else None
        seen = health.last_beat_at if health is not None else None
        return BotStateReported(
            state=self.state, mode=self.mode, ts=self._ctx.clock(),
            pid=run.bot.pid if run else None, bot_id=run.bot_id if run else self.fleet_id,
            uptime_s=now - health.spawned_at if health else None,
            last_heartbeat_age_s=None if seen is None else now - seen,
            equity=beat.equity if beat else None,
            realized_pnl=beat.realized_pnl if beat else None,
            unrealized_pnl=beat.unrealized_pnl if beat else None,
            positions=len(beat.positions) if beat else 0,
            last_tick_age_s=tick_age(beat) if beat else None, restarts=self.restarts,
            last_exit=self.last_exit[:4096], last_exit_code=self.last_exit_code,
            detail=self.detail[:4096])

    def _external_summary(self, hello: Hello) -> BotStateReported:
        seen, beat = self._external_beat or (None, None)
        return BotStateReported(
            state="external", mode=self.mode, ts=self._ctx.clock(), pid=hello.pid,
            bot_id=hello.bot_id,
            last_heartbeat_age_s=None if seen is None else self._now() - seen,
            equity=beat.equity if beat else None,
            realized_pnl=beat.realized_pnl if beat else None,
            unrealized_pnl=beat.unrealized_pnl if beat else None,
            positions=len(beat.positions) if beat else 0,
            last_tick_age_s=tick_age(beat) if beat else None, restarts=self.restarts,
            last_exit=self.last_exit[:4096], last_exit_code=self.last_exit_code,
            detail=self.detail[:4096])
