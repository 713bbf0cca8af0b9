"""The microkernel: owns the sockets, the journal and the actors' lives.

Start-up is ordered and fails early: the journal opens, the bus proxy and the
bot link bind (an endpoint in use is reported, not retried), every actor
reaches RUNNING, then the kernel says it is ready. Shutdown runs the same steps
backwards with a bounded wait for each. An actor that exhausts its restart
budget halts trading (the gate closes), the reason is journaled, and the kernel
stops with exit code :data:`EXIT_HALTED`, never silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence

import zmq
import zmq.asyncio
from zmq.auth.thread import ThreadAuthenticator

from bus.proxy import INPROC_PUBLISH, INPROC_REMOTE, BusProxy
from bus.pubsub import Publisher
from bus.security import InsecureBindError
from kernel import __version__
from kernel._advice_desk import register_advice_requests
from kernel._after_flood import AfterFlood
from kernel._link_frames import LinkFrames
from kernel._memory import freeze_start_up, keep_large_blocks_returnable
from kernel._narrator import Narrator
from kernel._operator import OperatorDesk
from kernel._record_desk import register_record_requests
from kernel._recorder import BusRecorder
from kernel._runner import ActorGaveUp, ActorRunner, ActorStartFailed
from kernel._shutdown import install_stop_signals
from kernel._state_cache import StateCache
from kernel.actor import Actor, ActorContext, KernelServices
from kernel.config import ActorConfig
from kernel.control import ControlServer
from kernel.control_protocol import (
    ActorInfo,
    BotInfo,
    CloseAllRequest,
    HaltRequest,
    ModeRequest,
    ResumeRequest,
    SnapshotReply,
    SnapshotRequest,
    StatusReply,
    StatusRequest,
    StopRequest,
)
from kernel.emitter import Emitter
from kernel.events import KernelStateChanged
from kernel.exit_codes import EXIT_HALTED, EXIT_OK, EXIT_START_FAILED
from kernel.gate import ClosedGate
from kernel.gateway import Gateway
from kernel.journal import Journal, JournalDamaged, JournalError
from kernel.journal_file import corruption_in, open_failure
from kernel.keys import (
    KeysMissing,
    ServerKeys,
    load_bot_keys,
    load_server,
    start_authenticator,
)
from kernel.lockfile import DataDirLock, DataDirUnusable, LockHeld
from kernel.settings import Settings
from kernel.supervision import RestartPolicy

log = logging.getLogger("kernel")

_READY_TIMEOUT_S = 10.0
STOPPING_HEARD_S = 0.05
"""After "stopping" is published, the actors' feeds run before the actors are stopped
(local frames go first in the loop; the pause lets a handler that awaits finish too):
the notifier's "Supervisor stopping" alert would otherwise be lost to the race."""


class StartFailed(Exception):
    """The kernel could not start (an endpoint in use, an actor that failed)."""


class Kernel:
    """One running supervisor. Use :meth:`run`; stop with :meth:`request_stop`."""

    def __init__(
        self,
        settings: Settings,
        actors: Sequence[Callable[[], Actor]] = (),
        *,
        clock: Callable[[], float] = time.time,
        link_frames: LinkFrames | None = None,
        own_process: bool = False,
    ) -> None:
        """``own_process``: ``kernel run``, alone in its process, keeps the collector off
        what start-up made and gives memory back after floods (kernel/_memory.py); a
        kernel inside a test runner leaves the runner's process as it is."""
        self._own_process = own_process
        self.settings = settings
        self._link_frames = link_frames
        self._factories = actors
        self._clock = clock
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._stop_journaled = False
        self._started_at = 0.0
        self._runners: list[ActorRunner] = []
        self.ready = asyncio.Event()
        self.endpoints: dict[str, str] = {}
        self.halt_reason = ""
        self.start_error = ""
        self.journal_error = ""
        """Set when the journal became unusable while running (exit 3)."""
        self.services: KernelServices | None = None
        self.gateway: Gateway | None = None
        self.state_cache: StateCache | None = None
        """While it runs: the bot link and the state cache, whose bounded tables the
        flood tests read (docs/architecture.md, "Bounded state")."""
        self.mode: str = settings.kernel.mode

    def request_stop(self, reason: str = "stop requested", *, journaled: bool = False) -> None:
        """Stop in order; ``journaled``: the caller already recorded the stopping, and why."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop_journaled = journaled
            self._stop.set()

    async def run(self) -> int:
        """Serve until stopped; return the process exit code."""
        self._started_at = self._clock()
        # RSS comes back down after a flood (kernel/_memory.py)
        keep_large_blocks_returnable(self.settings.kernel.gateway.max_frame_bytes)
        # Signals first: a Ctrl-C during start-up must still stop the kernel in order.
        remove_signals = install_stop_signals(asyncio.get_running_loop(), self.request_stop)
        try:
            try:  # then one kernel per data directory, so never two bots
                lock = DataDirLock.acquire(self.settings.data_dir)
            except (LockHeld, DataDirUnusable) as exc:
                return self._start_failed(str(exc))
            try:
                return await self._run_locked()
            except JournalError as exc:  # the journal would not open: no trading without it
                return self._start_failed(str(exc))
            finally:
                lock.release()
        finally:
            remove_signals()

    def _start_failed(self, error: str) -> int:
        # Not logged: ``start_error`` is the caller's to show, once (kernel run prints it).
        self.start_error = error
        return EXIT_START_FAILED

    async def _run_locked(self) -> int:
        settings = self.settings
        try:
            settings.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._start_failed(
                f"cannot create the log directory {settings.log_dir}: {exc.strerror or exc}. "
                "Fix: make it writable, or set log_dir in paths.yaml to a writable folder.")
        jcfg = settings.kernel.journal
        journal = await Journal.open(
            settings.journal_path, jsonl_dir=settings.log_dir if jcfg.jsonl else None,
            synchronous=jcfg.synchronous, batch_max_rows=jcfg.batch_max_rows,
            batch_max_delay_ms=jcfg.batch_max_delay_ms,
            integrity_check=jcfg.integrity_check == "quick")
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        try:
            code = await self._run_with(journal, context)
        finally:
            lost = await _close(journal)
            context.destroy(linger=0)
        if lost and not self.journal_error:
            self.journal_error = lost
            log.critical("%s", lost)
            return EXIT_START_FAILED
        return code

    async def _run_with(self, journal: Journal, context: zmq.Context[zmq.Socket[bytes]]) -> int:
        cfg = self.settings.kernel
        intake = BusProxy(context, publish_endpoints=[cfg.bus.publish_endpoint],
                          subscribe_endpoints=[INPROC_REMOTE], inproc=False, name="bus-intake")
        proxy = BusProxy(context, subscribe_endpoints=[cfg.bus.subscribe_endpoint],
                         upstream=[INPROC_REMOTE])
        publisher = Publisher(context, INPROC_PUBLISH, source="kernel")
        emitter = self._emitter("kernel", journal, publisher)
        gateway = Gateway(context=context, endpoint=cfg.gateway.endpoint, clock=self._clock,
                          emitter=self._emitter("gateway", journal, publisher),
                          heartbeat_interval_s=cfg.gateway.heartbeat_interval_s,
                          max_frame_bytes=cfg.gateway.max_frame_bytes,
                          extra_frames=self._link_frames,
                          fleet=frozenset(b.id for b in self.settings.paths.bots)
                          if self.settings.paths.fleet else None,
                          backlog=lambda: journal.pending)
        recorder: BusRecorder | None = None
        authenticator: ThreadAuthenticator | None = None
        cache = StateCache(context, fleet=self.settings.paths.fleet)
        self.gateway, self.state_cache = gateway, cache
        narrator = Narrator(context)
        emitter.emit(KernelStateChanged(state="starting", ts=self._clock(),
                                        reason=f"pid {os.getpid()}, version {__version__}"))
        try:
            try:
                keys = self._control_keys()
                bot_keys = self._bot_keys(gateway)
                if keys is not None or bot_keys is not None:
                    authenticator = start_authenticator(context, keys, bots=bot_keys)
                control = ControlServer(zmq.asyncio.Context.shadow(context),
                                        cfg.control.endpoint, keys=keys)
                intake.start()
                proxy.start()
                recorder = BusRecorder(context, journal, self._clock, local=publisher)
                recorder.start()
                cache.start()
                narrator.start()
                self.endpoints = {
                    "bot_link": gateway.start(),
                    "bus_publish": intake.publish_bound[-1],
                    "bus_subscribe": proxy.subscribe_bound[-1],
                    "control": control.bind(),
                }
            except zmq.ZMQError as exc:
                raise StartFailed(f"cannot bind: {exc.strerror}. Another kernel may be running "
                                  "on these endpoints; stop it, or change the endpoints in "
                                  f"{self.settings.config_dir / 'kernel.yaml'}.") from exc
            except (InsecureBindError, KeysMissing) as exc:
                raise StartFailed(str(exc)) from exc
            self._register_control(control, gateway, journal, cache, emitter)
            await cache.wait_live(publisher)
            services = KernelServices(set_gate=gateway.set_gate, request_stop=self.request_stop,
                                      send_command=gateway.send_command,
                                      set_planner=gateway.set_planner,
                                      ask_control=control.answer)
            self.services = services
            return await self._serve(journal, context, publisher, emitter, gateway, control,
                                     services)
        except StartFailed as exc:
            return self._start_failed(str(exc))
        finally:
            try:
                await gateway.stop()
                if recorder is not None:
                    recorder.stop()
                cache.stop()
                narrator.stop()
                with contextlib.suppress(JournalError):  # the close says what was lost
                    emitter.emit(KernelStateChanged(
                        state="stopped", ts=self._clock(),
                        reason=self.halt_reason or self.journal_error or self._stop_reason))
                    await journal.flush()
            finally:
                publisher.close()
                proxy.stop()
                intake.stop()
                if authenticator is not None:
                    authenticator.stop()

    def _bot_keys(self, gateway: Gateway) -> dict[bytes, str] | None:
        """With ``gateway.curve``: the server keys for the bot link, and each bot's public
        key (``kernel keys generate --bot ID``); None without."""
        if not self.settings.kernel.gateway.curve:
            return None
        folder = self.settings.resolve(self.settings.kernel.control.keys_dir)
        gateway.curve = load_server(folder)
        bots = load_bot_keys(folder, [b.id for b in self.settings.paths.bots])
        if not bots:
            raise KeysMissing(f"gateway.curve is on but {folder / 'bots'} holds no key of a "
                              "bot in paths.yaml `bots:`, so no bot could connect. Fix: run "
                              "`kernel keys generate --bot ID` for each bot")
        return bots

    def _control_keys(self) -> ServerKeys | None:
        """The control socket's CurveZMQ keys when ``control.curve`` is on."""
        if not self.settings.kernel.control.curve:
            return None
        return load_server(self.settings.resolve(self.settings.kernel.control.keys_dir))

    async def _serve(self, journal: Journal, context: zmq.Context[zmq.Socket[bytes]],
                     publisher: Publisher, emitter: Emitter, gateway: Gateway,
                     control: ControlServer, services: KernelServices) -> int:
        sup = self.settings.kernel.supervision
        policy = RestartPolicy(max_restarts=sup.max_restarts, window_s=sup.window_s,
                               backoff_initial_s=sup.backoff_initial_s,
                               backoff_max_s=sup.backoff_max_s)

        def make_context(name: str) -> ActorContext:
            return ActorContext(name=name, emitter=self._emitter(name, journal, publisher),
                                journal=journal, clock=self._clock, services=services)

        enabled = self.settings.kernel.actors
        self._runners = [
            ActorRunner(factory=factory, publisher=publisher,
                        make_context=make_context, kernel_emitter=emitter, policy=policy,
                        clock=self._clock, stop_timeout_s=sup.shutdown_timeout_s)
            for factory in self._factories
        ]
        self._runners = [r for r in self._runners
                         if _enabled(enabled, r.name)]
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(control.serve())
                group.create_task(_watch(journal))
                if self._own_process:
                    group.create_task(AfterFlood().run())  # kernel/_after_flood.py
                for runner in self._runners:
                    ready = asyncio.Event()
                    group.create_task(runner.supervise(ready))
                    await _wait_ready(runner, ready)
                emitter.emit(KernelStateChanged(state="running", ts=self._clock()))
                log.info("kernel ready: bot link %s, bus %s, control %s",
                         self.endpoints["bot_link"], self.endpoints["bus_subscribe"],
                         self.endpoints["control"])
                if self._own_process:
                    freeze_start_up()  # full collections skip what start-up made
                self.ready.set()
                await self._stop.wait()
                log.info("stopping: %s", self._stop_reason)
                if not self._stop_journaled:  # `kernel stop` journaled it with who and why
                    emitter.emit(KernelStateChanged(state="stopping", ts=self._clock(),
                                                    reason=self._stop_reason))
                await asyncio.sleep(STOPPING_HEARD_S)  # the actors hear it before they stop
                raise _Stopping
        except* _Stopping:
            pass
        except* (StartFailed, ActorStartFailed) as group_error:
            self._start_failed(str(group_error.exceptions[0]))
        except* ActorGaveUp as group_error:
            self._halt(gateway, emitter, str(group_error.exceptions[0]))
        except* JournalDamaged as group_error:
            self._journal_lost(gateway, group_error.exceptions[0])
        if self.start_error or self.journal_error:
            return EXIT_START_FAILED
        return EXIT_HALTED if self.halt_reason else EXIT_OK

    def _register_control(self, control: ControlServer, gateway: Gateway, journal: Journal,
                          cache: StateCache, emitter: Emitter) -> None:
        desk = OperatorDesk(self._emitter("operator", journal, emitter.publisher), self._clock,
                            on_mode=self._set_mode, on_stop=self.request_stop,
                            bots=[b.id for b in self.settings.paths.bots])

        async def snapshot(_: SnapshotRequest) -> SnapshotReply:
            return SnapshotReply(status=await self._status(gateway, journal, cache),
                                 latest=dict(cache.latest))

        control.register(StatusRequest, lambda _: self._status(gateway, journal, cache))
        control.register(SnapshotRequest, snapshot)
        control.register(HaltRequest, desk.halt)
        control.register(ResumeRequest, desk.resume)
        control.register(CloseAllRequest, desk.close_all)
        control.register(ModeRequest, desk.mode)
        control.register(StopRequest, desk.stop)
        register_advice_requests(control, self._emitter("operator", journal, emitter.publisher),
                                 self._clock, [b.id for b in self.settings.paths.bots])
        register_record_requests(control, journal, emitter.publisher, self._clock)

    def _journal_lost(self, gateway: Gateway, damaged: BaseException) -> None:
        """The journal cannot go on: close the gate, say where and what to do, stop.

        Nothing is journaled about it (there is no journal); the console log and
        the exit code (3) carry it, and the gate denies ``journal_unavailable``.
        """
        assert isinstance(damaged, JournalDamaged)
        path = self.settings.journal_path
        found = corruption_in(damaged.cause)
        text = (open_failure(path, found) if found is not None else
                f"the journal {path} cannot write any more: {damaged.cause}. Fix: read the "
                "error above; check the file with `kernel audit verify`; if it is damaged, "
                f"move it aside with its companions (`mv {path}* <somewhere safe>`), then "
                "start again")
        self.journal_error = f"{text} (met by {damaged.who})"
        gateway.set_gate(ClosedGate(code="journal_unavailable",
                                    reason="the journal is unusable, so nothing can be "
                                    "decided; the kernel is stopping"))
        log.critical("trading halted and kernel stopping: %s", self.journal_error)

    def _set_mode(self, mode: str) -> None:
        self.mode = mode

    def _halt(self, gateway: Gateway, emitter: Emitter, reason: str) -> None:
        """Close the gate and record why; the caller then stops the kernel."""
        self.halt_reason = reason
        gateway.set_gate(ClosedGate(code="kernel_halted", reason=f"trading halted: {reason}"))
        with contextlib.suppress(JournalError):  # a journal that fails is named at close
            emitter.emit(KernelStateChanged(state="halted", ts=self._clock(), reason=reason))
        log.critical("trading halted and kernel stopping: %s", reason)

    def _emitter(self, source: str, journal: Journal, publisher: Publisher) -> Emitter:
        return Emitter(source=source, journal=journal, publisher=publisher, clock=self._clock)

    async def _status(self, gateway: Gateway, journal: Journal,
                      cache: StateCache) -> StatusReply:
        now = self._clock()
        return StatusReply(
            version=__version__, pid=os.getpid(), uptime_s=now - self._started_at,
            mode=cache.mode or self.mode, trading_state=gateway.gate.trading_state,
            gate=type(gateway.gate).__name__, endpoints=self.endpoints,
            actors=[ActorInfo(name=r.name, state=r.state, restarts=r.restarts,
                              last_error=r.last_error) for r in self._runners],
            bots=[BotInfo(bot_id=s.bot_id, pid=s.pid, mode=s.mode, version=s.version,
                          connected_s=now - s.connected_at, last_seen_s_ago=now - s.last_seen)
                  for s in gateway.sessions.all()],
            journal_path=str(self.settings.journal_path), journal_last_seq=journal.last_seq,
            decisions=gateway.decisions, anomalies=dict(gateway.faults.counts))


async def _close(journal: Journal) -> str:
    """Close the journal; what it could not keep, said, or empty."""
    try:
        await journal.close()
    except JournalError as exc:
        return str(exc)
    return ""


async def _watch(journal: Journal) -> None:
    """End the kernel's task group when the journal's writer stops for good."""
    raise await journal.stopped()


class _Stopping(Exception):
    """Raised inside the task group to cancel every task on a requested stop."""


async def _wait_ready(runner: ActorRunner, ready: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(ready.wait(), _READY_TIMEOUT_S)
    except TimeoutError:
        raise StartFailed(f"actor {runner.name} did not start within {_READY_TIMEOUT_S:g} s "
                          f"(state {runner.state}: {runner.last_error or 'no error'})") from None



def _enabled(actors: Mapping[str, ActorConfig], name: str) -> bool:
    """``actors:`` in kernel.yaml by name; a fleet's ``watchdog.<bot id>`` also obeys
    the entry of its kind (``watchdog``)."""
    entry = actors.get(name) or actors.get(name.partition(".")[0])
    return entry is None or entry.enabled
