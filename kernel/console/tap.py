"""``kernel tap``: watch a running kernel from any process, on this host or another.

A plain SUB socket on the bus's XPUB endpoint, plus the control socket for the
current state at start (and after a reconnect), so the screen is right before
the next update arrives. Three outputs share one loop: the live dashboard
(:mod:`kernel.console.dashboard`, for a terminal), ``stream`` (one line per message,
for logs and narrow terminals) and ``json`` (one object per line, for
machines). The loop is single-threaded and never blocks for long: control
requests run on a short-lived daemon thread, so Ctrl-C is always prompt.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, Literal, TextIO

import msgspec
import zmq

from bus.pubsub import parse_frames
from bus.topics import subscription
from kernel.console._dashboard_model import of_another_bot
from kernel.console._tap_link import CONNECTED, UNREACHABLE, LinkMonitor
from kernel.console._tap_output import JsonSink, Sink, StreamSink, TapConsole
from kernel.console.control_client import ControlRefused
from kernel.control_protocol import ControlMessage, SnapshotReply, SnapshotRequest

Output = Literal["dashboard", "stream", "json"]
Ask = Callable[[ControlMessage, float], Any]
"""Sends one control request and returns the reply (``Controller.ask``)."""
DRAIN = 2000
"""Messages taken per wake-up before the screen gets a chance to redraw."""
HOLD_MAX = 10_000
"""Messages kept back while the first snapshot is on its way (at most the control timeout)."""
GATHER_S = 0.01
"""After a wake-up that read messages, the tap waits this long before it looks again, so
the messages meanwhile are read in one wake-up: a fleet's bus carries some 3,000 messages
a second, each otherwise a wake-up of its own on the cores the kernel and the bots share
(docs/fleet.md, "Cost per decision"). Meanwhile they wait in the sockets' queues (the
bus keeps 200,000 per subscriber, ``bus/proxy.py``: 10 ms of a fleet is some 30); a
screen shows them by its next redraw anyway."""


@dataclass(frozen=True, kw_only=True)
class TapOptions:
    bus: str
    control: str | None = None
    """Only for messages: the actual asking goes through ``ask``."""
    topics: tuple[str, ...] = ()
    output: Output = "stream"
    quiet_s: float = 3.0
    """Bus silence after which the control socket is asked whether the kernel is there."""
    control_timeout_s: float = 2.0
    bot: str = ""
    """``--bot ID``: one bot of a fleet; the others' messages are left out."""
    bots: tuple[str, ...] = ()
    """The fleet's bot ids from the config (the dashboard lists them before they speak)."""


def choose_output(*, as_json: bool, stream: bool, stdout: TextIO) -> Output:
    """The dashboard only on a real, capable terminal; otherwise lines."""
    if as_json:
        return "json"
    if stream or not stdout.isatty() or os.environ.get("TERM") == "dumb":
        return "stream"
    return "dashboard"


def tap(options: TapOptions, *, ask: Ask | None = None, out: TextIO | None = None) -> int:
    """Follow the bus until interrupted; 0 on Ctrl-C or SIGTERM (a normal way to stop)."""
    out = out or sys.stdout
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_sigterm_as_interrupt())
            sink = stack.enter_context(_sink(options, out))
            _Follower(options, sink, ask).run()
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:  # `kernel tap | head`: the reader left, which is fine
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    return 0


def _sink(options: TapOptions, out: TextIO) -> Sink:
    if options.output == "json":
        return _one_bot(JsonSink(out, topics=options.topics), options.bot)
    console = TapConsole(file=out, highlight=False, soft_wrap=options.output == "stream")
    if options.output == "stream":
        return _one_bot(StreamSink(console, topics=options.topics, bus=options.bus),
                        options.bot)
    from kernel.console.dashboard import DashboardSink  # late: only the dashboard needs rich.live

    return DashboardSink(console, topics=options.topics, bus=options.bus,
                         control=options.control, now=time.time(), bot=options.bot,
                         bots=options.bots)


def _one_bot(sink: Sink, bot: str) -> Sink:
    return sink if not bot else OneBot(sink, bot)


class OneBot(Sink):
    """``--bot ID`` for the line outputs: another bot's messages are not shown."""

    def __init__(self, inner: Sink, bot: str) -> None:
        self.inner, self.bot = inner, bot

    def __enter__(self) -> Sink:
        self.inner.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.inner.__exit__(kind, exc, tb)

    def snapshot(self, reply: SnapshotReply, *, show: bool, now: float) -> None:
        self.inner.snapshot(reply, show=show, now=now)

    def message(self, topic: str, source: str, body: Any, now: float) -> None:
        if not (isinstance(body, dict) and of_another_bot(body, source, self.bot)):
            self.inner.message(topic, source, body, now)

    def note(self, text: str, level: str, now: float) -> None:
        self.inner.note(text, level, now)

    def link(self, state: str, detail: str, now: float) -> None:
        self.inner.link(state, detail, now)

    def tick(self, now: float) -> None:
        self.inner.tick(now)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the tap like Ctrl-C, so the terminal is restored either way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Fetcher:
    """One control request at a time on a daemon thread, so the loop never waits on it."""

    def __init__(self, ask: Ask, timeout_s: float) -> None:
        self._ask = ask
        self._timeout_s = timeout_s
        self._results: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self.busy = False

    def start(self) -> None:
        self.busy = True
        threading.Thread(target=self._run, name="tap-control", daemon=True).start()

    def _run(self) -> None:
        try:
            self._results.put((True, self._ask(SnapshotRequest(), self._timeout_s)))
        except Exception as exc:  # every failure is reported to the loop, none is fatal
            self._results.put((False, exc))

    def result(self) -> tuple[bool, Any] | None:
        try:
            outcome = self._results.get_nowait()
        except queue.Empty:
            return None
        self.busy = False
        return outcome


class _Follower:
    """The loop: bus messages to the sink, control answers to the link monitor."""

    def __init__(self, options: TapOptions, sink: Sink, ask: Ask | None) -> None:
        self.options, self.sink = options, sink
        now = time.time()
        self.monitor = LinkMonitor(now=now, quiet_s=options.quiet_s,
                                   retry_s=options.control_timeout_s, can_probe=ask is not None)
        self.fetcher = None if ask is None else _Fetcher(ask, options.control_timeout_s)
        self.show_state = True
        """The next snapshot is shown in full (at start, and after the kernel came back)."""
        self.lost = False
        self.held: list[tuple[str, str, Any, float]] | None = [] if ask is not None else None
        """Messages that arrive before the first control answer, shown after the state."""
        """The kernel was unreachable: say so when it is back."""

    def run(self) -> None:
        sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
        sock.linger = 0
        try:
            for prefix in self.options.topics if self.options.output != "dashboard" else ():
                sock.subscribe(subscription(prefix))
            if self.options.output == "dashboard" or not self.options.topics:
                sock.subscribe(b"")  # the panels need every state topic
            sock.connect(self.options.bus)
            self._start_fetch(time.time())
            if self.fetcher is None:
                self.sink.note(f"no control endpoint: showing what {self.options.bus} "
                               "publishes from now on", "info", time.time())
            while True:
                ready = sock.poll(100)
                now = time.time()
                if ready:
                    self._drain(sock, now)
                self._check_control(now)
                self.sink.tick(now)
                if ready:
                    time.sleep(GATHER_S)  # the next messages wait in the queue
        finally:
            sock.close(linger=0)

    def _drain(self, sock: zmq.Socket[bytes], now: float) -> None:
        for _ in range(DRAIN):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            frame = parse_frames(frames)
            if frame.topic.startswith("_"):
                continue
            self._link(self.monitor.message(now), now)
            item = (frame.topic, frame.header.source, _body(frame.payload), now)
            if self.held is not None and len(self.held) < HOLD_MAX:
                self.held.append(item)
            else:
                self._release()
                self.sink.message(*item)

    def _release(self) -> None:
        held, self.held = self.held, None
        for item in held or ():
            self.sink.message(*item)

    def _start_fetch(self, now: float) -> None:
        if self.fetcher is not None and not self.fetcher.busy:
            self.fetcher.start()
            self.monitor.probe_started(now)

    def _check_control(self, now: float) -> None:
        if self.fetcher is None:
            self._link(self.monitor.quiet_without_probe(now), now)
            return
        outcome = self.fetcher.result()
        if outcome is not None:
            self._answered(*outcome, now=now)
            self._release()
        if self.monitor.want_probe(now) or (self.show_state and self.monitor.state == CONNECTED
                                            and not self.fetcher.busy):
            self._start_fetch(now)

    def _answered(self, ok: bool, reply: Any, *, now: float) -> None:
        if ok and isinstance(reply, SnapshotReply):
            self._link(self.monitor.probe_answered(now), now)
            self.sink.snapshot(reply, show=self.show_state, now=now)
            self.show_state = False
            return
        refused = isinstance(reply, ControlRefused)  # it answered: alive, but no state for us
        change = self.monitor.probe_answered(now) if refused else self.monitor.probe_failed(now)
        self._link(change, now)
        if self.show_state and self.monitor.state == CONNECTED:
            self.show_state = False  # the bus works: go on with it, do not insist
            self.sink.note(f"could not get the current state from {self.options.control}: "
                           f"{reply}; following the bus", "warning", now)

    def _link(self, change: str | None, now: float) -> None:
        if change is None:
            return
        if change == UNREACHABLE:
            detail = (f"no messages on {self.options.bus} and no answer on "
                      f"{self.options.control}" if self.fetcher is not None else
                      f"no messages on {self.options.bus} for "
                      f"{self.options.quiet_s + self.options.control_timeout_s:g} s")
            self.sink.link(UNREACHABLE, detail, now)
            self.sink.note(f"kernel unreachable: {detail}; retrying", "error", now)
            self.show_state = True
        else:
            self.sink.link(change, "", now)
            if self.lost:
                self.sink.note("kernel reachable again", "info", now)
        self.lost = change == UNREACHABLE


def _body(payload: bytes) -> Any:
    try:
        return msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return {"type": "undecodable", "bytes": len(payload)}


def tap_topics(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated ``--topic`` values, empty ones dropped (``""`` would mean everything)."""
    return tuple(v for v in values if v)
