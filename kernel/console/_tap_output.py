"""Where ``kernel tap`` sends what it sees: line outputs, and the interface they share.

``stream`` prints one line per message for people and log files (rich drops
the colours by itself when the output is not a terminal or ``NO_COLOR`` is
set); ``json`` prints one object per line on stdout for machines and keeps the
tap's own notes (unreachable, back) on stderr so the stdout stays parseable.
The dashboard (:mod:`kernel.console.dashboard`) implements the same interface.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from types import TracebackType
from typing import Any, TextIO

import msgspec
from rich.console import Console
from rich.text import Text

from kernel.control_protocol import SnapshotReply
from kernel.summaries import severity, summarize
from kernel.untrusted import ident, one_line

STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "red", "critical": "bold red"}
_json = msgspec.json.Encoder()


class TapConsole(Console):
    """A console that reports a closed pipe (``kernel tap | head``) instead of exiting 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def decode_latest(reply: SnapshotReply) -> list[tuple[str, Any]]:
    """The snapshot's latest messages, decoded, oldest first."""
    items = []
    for topic, payload in reply.latest.items():
        try:
            items.append((topic, msgspec.msgpack.decode(payload)))
        except msgspec.DecodeError:
            continue
    return sorted(items, key=lambda item: message_ts(item[1], 0.0))


def message_ts(body: Any, default: float) -> float:
    ts = body.get("ts") if isinstance(body, dict) else None
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else default


def selected(topic: str, topics: tuple[str, ...]) -> bool:
    """The same rule as a SUB socket's subscription: a plain prefix."""
    return not topics or any(topic.startswith(prefix) for prefix in topics)


class Sink:
    """What the tap's loop calls; each output overrides what it shows."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def snapshot(self, reply: SnapshotReply, *, show: bool, now: float) -> None:
        """The kernel's current state; ``show``: at start or after a reconnect."""

    def message(self, topic: str, source: str, body: Any, now: float) -> None:
        """One bus message, decoded to builtins."""

    def note(self, text: str, level: str, now: float) -> None:
        """The tap's own news: unreachable, back, no snapshot."""

    def link(self, state: str, detail: str, now: float) -> None:
        """``connected`` / ``unreachable``; notes already say it in words."""

    def tick(self, now: float) -> None:
        """Called about ten times a second, messages or not."""


class StreamSink(Sink):
    def __init__(self, console: Console, *, topics: tuple[str, ...], bus: str) -> None:
        self.console, self.topics, self.bus = console, topics, bus

    def __enter__(self) -> Sink:
        where = f" topics {', '.join(map(ident, self.topics))}" if self.topics else ""
        self.console.print(Text(one_line(f"tapping {ident(self.bus)}{where} (Ctrl-C to stop)"),
                                style="dim"))
        return self

    def snapshot(self, reply: SnapshotReply, *, show: bool, now: float) -> None:
        if not show:
            return
        s = reply.status
        self.console.print(Text(one_line(
            f"current state: kernel {ident(s.version)} pid {s.pid}, up {s.uptime_s:.0f} s, "
            f"mode {ident(s.mode)}, trading {ident(s.trading_state)}, "
            f"{len(s.bots)} bot link session(s)"), style="bold"))
        # Each state as of its own time, oldest first: the topics' order is not time's.
        latest = [(message_ts(body, now), topic, body) for topic, body in decode_latest(reply)
                  if selected(topic, self.topics)]
        for when, topic, body in sorted(latest, key=lambda item: item[0]):
            self._line(topic, body, min(when, now))

    def message(self, topic: str, source: str, body: Any, now: float) -> None:
        # Stamped when the tap received it, not with the sender's ``ts``: bots and actors
        # stamp with their own clocks and moments, so those stamps would step back and
        # forth; the line order is the bus's, and the times now agree with it.
        self._line(topic, body, now)

    def note(self, text: str, level: str, now: float) -> None:
        line = Text(f"{_clock(now)} {'tap':<16} ", style="dim")
        line.append(one_line(text), style=STYLES.get(level, ""))
        self.console.print(line)

    def _line(self, topic: str, body: Any, when: float) -> None:
        line = Text(f"{_clock(when)} {ident(topic):<16} ", style="dim")
        line.append(summarize(body), style=STYLES.get(severity(body), ""))
        self.console.print(line)


class JsonSink(Sink):
    """One ``{"ts", "topic", "source", "body"}`` object per line; snapshot records
    also carry ``"snapshot": true`` so a reader can tell state from news."""

    def __init__(self, out: TextIO, *, topics: tuple[str, ...], err: TextIO | None = None) -> None:
        self.out, self.topics, self.err = out, topics, err or sys.stderr

    def snapshot(self, reply: SnapshotReply, *, show: bool, now: float) -> None:
        if not show:
            return
        for topic, body in decode_latest(reply):
            if selected(topic, self.topics):
                self._write({"ts": message_ts(body, now), "topic": topic, "source": "snapshot",
                             "body": body, "snapshot": True})

    def message(self, topic: str, source: str, body: Any, now: float) -> None:
        self._write({"ts": message_ts(body, now), "topic": topic, "source": source,
                     "body": body})

    def note(self, text: str, level: str, now: float) -> None:
        self.err.write(f"tap: {one_line(text)}\n")
        self.err.flush()

    def tick(self, now: float) -> None:
        """Lines go out once per turn of the tap's loop, after every message it read then
        (:data:`kernel.console.tap.GATHER_S`), not one write per line."""
        self.out.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(OSError):  # the reader may have gone (``| head``)
            self.out.flush()

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(_json.encode(record).decode() + "\n")


def _clock(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3]
