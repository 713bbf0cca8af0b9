"""The process watchdog: the actor that owns the QuantumEdge process.

It starts the bot in the kernel's mode, restarts it when it crashes or hangs
(backoff and limit from :mod:`agents.watchdog.policy`), halts trading when it
cannot keep the bot alive, carries out mode changes, and stops the bot's whole
tree when the kernel stops, asking over the bot link first. It never leaves a
bot behind and never runs two: a bot left by a killed kernel is found through
its pid file (pid and start time) or its exact command line, and stopped before
a new one starts.

All judgement is in the pure policy; this shell only feeds it times and
heartbeats and carries its answers out. One task (:meth:`Watchdog.run`) owns
the process, so starts, stops and restarts never interleave; :meth:`handle`
only records heartbeats and queues mode requests for it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

from agents.watchdog import policy
from agents.watchdog._bot_output import BotOutput
from agents.watchdog._bot_process import BotProcess, SpawnError, stop_leftovers
from agents.watchdog._report import BotRun, Reporter
from agents.watchdog.messages import ModeChanged, TradingHaltRequested
from agents.watchdog.policy import Action, Failure, Health
from agents.watchdog.slice import WatchdogSlice
from bus.protocol import BotMode, Command, Heartbeat, Hello, Message
from kernel.actor import Actor, ActorContext
from kernel.child_env import child_environment
from kernel.config import python_command
from kernel.events import ModeChangeRequested, Severity
from kernel.gate import ClosedGate
from kernel.lockfile import PidFile

log = logging.getLogger("agents.watchdog.actor")


class _Exited(NamedTuple):
    bot: BotProcess
    code: int


class _ModeRequest(NamedTuple):
    request: ModeChangeRequested


class _Wake(NamedTuple):
    """The hang deadline moved earlier (first heartbeat): recompute the next wake-up."""


_Event = _Exited | _ModeRequest | _Wake

_NOT_RUNNING_OURS = frozenset({"off", "stopped", "external"})
"""States in which a bot's hello cannot be the watchdog's own: it was started by hand.
After ``gave_up`` or ``halted`` the state stays what it is: that trading is halted and
why matters more than a bot a person started to look into it."""


def _for_another_bot(message: Message, mine: str) -> bool:
    """In a fleet, whether ``message`` concerns another bot than ``mine`` (a mode change
    without a bot id concerns every bot)."""
    if not mine:
        return False
    if isinstance(message, ModeChangeRequested):
        return message.bot_id not in ("", mine)
    if isinstance(message, Hello | Heartbeat):
        return message.bot_id != mine
    return False


class Watchdog(Actor):
    """Keeps exactly one bot running in the kernel's mode, or says loudly why not."""

    name: ClassVar[str] = "watchdog"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.hello", "bot.heartbeat", "kernel.mode")
    kept_topics: ClassVar[tuple[str, ...]] = ("kernel.mode",)  # a mode change, however flooded

    def __init__(self, *, config: WatchdogSlice, report_phase: float = 0.0) -> None:
        """``report_phase``: where in each ``state_interval_s`` (0 to 1) this watchdog
        reports after its first report (at start); a fleet spreads its watchdogs'."""
        super().__init__()
        self._config = config
        self._cfg = config.watchdog
        self._pid_file = PidFile(config.pid_file)
        self._budget_s = config.shutdown_timeout_s * 0.9
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._run: BotRun | None = None
        self._stopping: set[BotProcess] = set()
        self._output: BotOutput | None = None
        self._history: tuple[float, ...] = ()
        self._restart_at: float | None = None
        self._next_report = 0.0
        self._report_offset_s = (report_phase % 1.0) * self._cfg.state_interval_s
        """Added once, after the first report (at start): from then on each keeps its slot."""
        self._silent = False
        """An external bot's silence has been reported and it was not heard since."""

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        # here, not in the constructor: a link with no fixed port is a failed start
        self._endpoint = "" if self._config.external else \
            policy.connect_endpoint(self._config.gateway_endpoint)  # external: never started
        self._report = Reporter(ctx, self._config.mode, self._now)
        self._output = BotOutput(self._config.log_dir, self._cfg.output_log)

    # --- messages (from the bus) ------------------------------------------------------

    def bots(self) -> frozenset[str] | None:
        """In a fleet, the kernel hands this watchdog its own bot's messages only
        (:func:`_for_another_bot` stays as the net for frames it cannot route)."""
        return frozenset((self._config.bot_id,)) if self._config.bot_id else None

    async def handle(self, message: Message) -> Sequence[Message]:
        run = self._run
        if _for_another_bot(message, self._config.bot_id):
            return ()  # another bot of the fleet: its own watchdog's business
        match message:
            case Hello(pid=pid, bot_id=bot_id) if run is not None and run.bot.owns(pid):
                run.bot_id = self._report.bot_id = bot_id
            case Hello() if run is not None:
                return [self._report.anomaly(
                    "bot_unrecognised", "warning", f"hello from {message.bot_id} (pid "
                    f"{message.pid}), which is not the bot the watchdog started (pid "
                    f"{run.bot.pid}); its heartbeats do not count as the supervised bot's")]
            case Hello() if run is None and self._report.state in _NOT_RUNNING_OURS:
                self._report.external(message)
            case Heartbeat() if run is not None and message.bot_id == run.bot_id:
                return self._on_heartbeat(run, message)
            case Heartbeat() if run is None and self._report.is_external(message.bot_id):
                self._report.external_beat(message)
                if self._silent:
                    self._silent = False
                    return [self._report.anomaly("bot_heard_again", "info",
                                                 f"{message.bot_id}: heartbeats are back")]
            case ModeChangeRequested():
                self._events.put_nowait(_ModeRequest(message))
        return ()

    def _on_heartbeat(self, run: BotRun, beat: Heartbeat) -> list[Message]:
        run.health, findings = policy.observe_heartbeat(run.health, beat, self._now(), self._cfg)
        out: list[Message] = []
        for finding in findings:
            if finding.kind == "first_heartbeat":
                self._report.set_state("running", finding.detail, run, lifecycle="running")
                self._events.put_nowait(_Wake())  # from start_timeout_s to heartbeat_timeout_s
            else:
                severity: Severity = "info" if finding.kind == "tick_recovered" else "warning"
                out.append(self._report.anomaly(
                    finding.kind, severity, f"{run.bot_id} (pid {run.bot.pid}): {finding.detail}"))
        return out

    # --- the owning task ----------------------------------------------------------------

    async def run(self) -> None:
        await self._stop_leftovers()
        mode = self._report.mode
        self._report.fleet_id = self._config.bot_id
        if self._config.external:
            self._report.bot_id = self._config.bot_id
            self._report.set_state("off", "an external bot (no command in paths.yaml): the "
                                   "kernel waits for its hello and watches its heartbeats", None)
        elif mode == "off":
            self._report.set_state("off", "mode is off: the bot is not started", None)
        else:
            await self._start_bot(mode)
        while True:
            event = await self._next_event()
            match event:
                case _Exited(bot=bot, code=code) if self._run is not None and bot is self._run.bot:
                    await self._on_crash(self._run, code)
                case _ModeRequest(request=request):
                    await self._change_mode(request)
            await self._on_time(self._now())

    async def stop(self) -> None:
        """Kernel shutdown: ask the bot to stop, then terminate, then kill; within budget."""
        try:
            if self._run is not None:
                await self._stop_run("the kernel is stopping", budget_s=self._budget_s)
        finally:
            for bot in list(self._stopping):
                bot.kill_now()
            if self._output is not None:
                self._output.close()

    async def _next_event(self) -> _Event | None:
        wake = self._next_report
        if self._restart_at is not None:
            wake = min(wake, self._restart_at)
        if self._run is not None:
            wake = min(wake, policy.hang_deadline(self._run.health, self._cfg))
        try:
            async with asyncio.timeout(max(0.0, wake - self._now())):
                return await self._events.get()
        except TimeoutError:
            return None

    async def _on_time(self, now: float) -> None:
        run = self._run
        if run is not None and (silent := policy.hang_check(run.health, now, self._cfg)):
            await self._on_silence(run, *silent)
        self._watch_external(now)
        mode = self._report.mode
        if self._restart_at is not None and now >= self._restart_at and mode != "off":
            self._restart_at = None
            await self._start_bot(mode)
        if now >= self._next_report:
            self._next_report = now + self._cfg.state_interval_s + self._report_offset_s
            self._report_offset_s = 0.0
            if self._run is not None:
                self._run.bot.descendants()  # remember the tree while it is still attached
            self.ctx.publish(self._report.summary(self._run))
            self._report_dropped_output()

    def _watch_external(self, now: float) -> None:
        """A bot the kernel does not run cannot be restarted, but its silence is said
        (once, until it is heard again): its orders then meet stale marks."""
        silence = self._report.external_silence_s() if self._config.bot_id else None
        if silence is None or self._silent or silence <= self._cfg.heartbeat_timeout_s:
            return
        self._silent = True
        self.ctx.publish(self._report.anomaly(
            "bot_silent", "error", f"{self._report.bot_id}: no heartbeat for {silence:.1f} s "
            f"(heartbeat_timeout_s {self._cfg.heartbeat_timeout_s:g}); the kernel does not run "
            "this bot, so it cannot restart it: check the bot's host"))

    def _report_dropped_output(self) -> None:
        """Output not kept on disk since the last report: said once per report period."""
        if self._output is None:
            return
        lines, size, files, removed = self._output.take_dropped()
        if not (lines or files):
            return
        cfg = self._cfg.output_log
        said = []
        if lines:
            said.append(f"{lines:,} lines ({size / 2**20:.1f} MB) not written: the bot printed "
                        f"more than output_log.max_kb_per_s ({cfg.max_kb_per_s:g} KB/s)")
        if files:
            said.append(f"{files} old bot log files ({removed / 2**20:.1f} MB) deleted to keep "
                        f"output_log.files_kept ({cfg.files_kept})")
        self.ctx.publish(self._report.anomaly(  # rotation alone is routine: info
            "bot_output_dropped", "warning" if lines else "info",
            f"bot output in {self._config.log_dir}: "
            + "; ".join(said) + " (watchdog.yaml)"))

    # --- starting, failing, stopping ------------------------------------------------------

    async def _start_bot(self, mode: BotMode) -> None:
        config = self._config
        argv = self._argv(mode)
        data = {} if config.data_dir is None else {"QUANTUMEDGE_DATA_DIR": str(config.data_dir)}
        if config.bot_id:
            data["QUANTUMEDGE_BOT_ID"] = config.bot_id
        env = child_environment({"PYTHONUNBUFFERED": "1", **data, **config.bot_env})
        assert self._output is not None
        try:
            bot = BotProcess.spawn(argv, cwd=config.bot_cwd, env=env,
                                   output=self._output, tail_lines=self._cfg.tail_lines,
                                   on_exit=self._exit_noticed)
        except SpawnError as exc:
            self._report.last_exit, self._report.last_exit_code = str(exc), None
            log.error("%s", exc)
            await self._failed("spawn" if exc.permanent else "crash", str(exc))
            return
        self._run = BotRun(bot=bot, mode=mode, health=Health(spawned_at=self._now()))
        self._pid_file.write(bot.record)
        self._report.set_state("starting", f"mode {mode}: {' '.join(argv)}", self._run,
                               lifecycle="starting")

    def _argv(self, mode: BotMode) -> list[str]:
        """The command, mode and link; in a fleet also the bot's id, which keeps the
        command lines of two bots of one program apart (``_stop_leftovers``)."""
        argv = policy.bot_argv(python_command(list(self._config.bot_command)), mode,
                               self._endpoint)
        return [*argv, f"--bot-id={self._config.bot_id}"] if self._config.bot_id else argv

    def _exit_noticed(self, bot: BotProcess, code: int) -> None:
        self._events.put_nowait(_Exited(bot, code))

    async def _on_crash(self, run: BotRun, code: int) -> None:
        self._run = None
        run.bot.kill_now()  # whatever it left behind in its tree
        self._pid_file.clear()
        exited = self._report.exited(run, code, expected=False)
        last = f"; last output: {exited.last_lines[-1]!r}" if exited.last_lines else ""
        self._report.lifecycle("crashed", f"{exited.description} after {exited.uptime_s:.1f} s"
                               f"{last}", run.bot.pid)
        await self._failed("crash", exited.description)

    async def _on_silence(self, run: BotRun, failure: Failure, detail: str) -> None:
        self._run = None
        self.ctx.publish(self._report.anomaly("bot_hung", "error", f"pid {run.bot.pid}: {detail}"))
        self._report.set_state("hung", detail, None, lifecycle="hung", pid=run.bot.pid)
        run.bot.kill_now()  # a hung bot cannot obey a polite request
        await run.bot.wait_exit(2.0)
        self._pid_file.clear()
        self._report.exited(run, run.bot.returncode, expected=True, why=f"killed: {detail}")
        await self._failed(failure, detail)

    async def _failed(self, failure: Failure, detail: str) -> None:
        action = policy.on_failure(failure, detail, self._history, self._now(), self._cfg)
        self._history = action.history
        if action.kind == "restart":
            self._report.restarts += 1
            self._restart_at = self._now() + action.delay_s
            self._report.set_state("restarting", action.reason, None, lifecycle="restarting")
        else:
            await self._halt(action)

    async def _halt(self, action: Action) -> None:
        """Close the gate now, ask the risk engine to halt, and leave the bot down."""
        reason, bot_id = action.reason, self._config.bot_id
        if not bot_id:  # in a fleet the risk engine halts this bot alone; the others trade on
            self.ctx.services.set_gate(ClosedGate(
                code=action.code, reason=f"trading halted by the watchdog: {reason}"))
        await self.ctx.publish_durable(TradingHaltRequested(
            code=action.code, reason=reason, source=self.name, ts=self.ctx.clock(),
            bot_id=bot_id))
        if action.kind == "give_up":
            self._report.set_state("gave_up", reason, None, lifecycle="gave_up")
        else:
            self._report.set_state("halted", reason, None, lifecycle="stopped")
        log.critical("bot left down and trading halted (%s): %s", action.code, reason)

    async def _change_mode(self, request: ModeChangeRequested) -> None:
        previous, self._report.mode = self._report.mode, request.mode
        if self._config.external:
            log.info("mode %s requested for external bot %s: the kernel does not run it",
                     request.mode, self._config.bot_id)
            return
        if previous == request.mode and self._report.state in ("starting", "running"):
            log.info("mode %s requested by %s: already so", request.mode, request.requested_by)
            return
        await self.ctx.publish_durable(ModeChanged(
            previous=previous, mode=request.mode, requested_by=request.requested_by,
            reason=request.reason, ts=self.ctx.clock()))
        self._history, self._restart_at = (), None  # a person's decision: a fresh budget
        why = f"mode {request.mode} requested by {request.requested_by}: {request.reason}"
        if self._run is not None:
            await self._stop_run(why)
        if request.mode == "off":
            self._report.set_state("off", why, None)
        else:
            await self._start_bot(request.mode)

    async def _stop_run(self, reason: str, *, budget_s: float | None = None) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        self._report.set_state("stopping", reason, run)
        self._stopping.add(run.bot)
        try:
            how = await self._stop_bot(run, reason, budget_s)
        finally:
            self._stopping.discard(run.bot)
        self._pid_file.clear()
        code = run.bot.returncode
        exited = self._report.exited(run, code, expected=True,
                                     why=f"{policy.describe_exit(code)}: {how} ({reason})")
        self._report.set_state("stopped", exited.description, None, lifecycle="stopped",
                               pid=run.bot.pid)

    async def _stop_bot(self, run: BotRun, reason: str, budget_s: float | None) -> str:
        plan = policy.stop_plan(self._cfg, budget_s)
        if run.bot_id and run.bot.returncode is None:
            command = Command(command_id=f"watchdog-{uuid.uuid4().hex[:12]}", action="shutdown",
                              params={"reason": reason[:200]})
            if self.ctx.services.send_command(command, bot_id=run.bot_id) and \
                    await run.bot.wait_exit(plan.shutdown_wait_s):
                await run.bot.stop(terminate_wait_s=0.0)  # reap what its tree left behind
                return "stopped on the shutdown command"
        return await run.bot.stop(terminate_wait_s=plan.terminate_wait_s)

    async def _stop_leftovers(self) -> None:
        """Never twice: stop a bot an earlier (killed) kernel left running."""
        mode = self._report.mode
        argv = None if mode == "off" or self._config.external else self._argv(mode)
        for pid, how in await stop_leftovers(self._pid_file.read(), argv,
                                             terminate_wait_s=self._cfg.terminate_grace_s):
            self.ctx.publish(self._report.anomaly(
                "bot_left_running", "warning", f"a bot (pid {pid}) was still running from an "
                f"earlier kernel: {how}, so that the bot never runs twice"))
            self._report.lifecycle("stopped", f"leftover bot {how}", pid)
        self._pid_file.clear()

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()
