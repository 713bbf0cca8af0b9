"""The console log of ``kernel run``: what a person watching it should know.

Heartbeats and decisions go to ``kernel tap``; the console tells the story in a
few lines: the bot starting, connecting, crashing or hanging, trading halted
or resumed, a mode change, an operator's action, an anomaly, an actor fault.

A console line costs about 1.7 ms to render (rich), and a flood brings 20 anomalies
a second of each kind, all read in the same instant: read together they held the
loop, and every bot's next decision, for 35 to 75 ms once a second. So the narrator
takes :data:`LINES_PER_TURN` frames per wake-up and lets the loop run between them,
and tells each kind of anomaly or warning once a second (``kernel._console_lines``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

import msgspec
import zmq

from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import BusFrame, DrainedSubscriber
from kernel._console_lines import COALESCED_TOPICS, LineBudget, held_words
from kernel.summaries import severity, summarize
from kernel.untrusted import ident

log = logging.getLogger("kernel.events")

NARRATED_TOPICS: Final = (
    "bot.lifecycle", "bot.exit", "risk.halt", "risk.limit", "risk.warning", "risk.day",
    "kernel.mode",
    "operator.command", "anomaly", "kernel.actor",
)
LINES_PER_TURN: Final = 1
_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                  "error": logging.ERROR, "critical": logging.CRITICAL}


class Narrator:
    def __init__(self, context: zmq.Context[Any]) -> None:
        self._sub = DrainedSubscriber(context, INPROC_SUBSCRIBE, NARRATED_TOPICS, self._tell,
                                      batch=LINES_PER_TURN)
        self.lines = LineBudget()
        self._flush: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._sub.start()

    def stop(self) -> None:
        self._sub.stop()
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def _tell(self, frame: BusFrame) -> None:
        try:
            body = msgspec.msgpack.decode(frame.payload)
        except msgspec.DecodeError:
            return
        if frame.topic == "kernel.actor" and body.get("state") not in {"FAULTED"}:
            return  # routine actor lifecycle steps are for the journal, not the console
        held = 0
        if frame.topic in COALESCED_TOPICS and isinstance(body, dict):
            key = f"{frame.topic} {ident(body.get('kind', ''))}"
            told, held = self.lines.admit(key, time.monotonic())
            if not told:
                self._flush_later()
                return
        line = summarize(body) + (" " + held_words(held, self.lines.every_s) if held else "")
        log.log(_LEVELS.get(severity(body), logging.INFO), "%s %s", frame.topic, line)

    def _flush_later(self) -> None:
        """Say the held-back count of a kind that has gone quiet, a second on."""
        if self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(self.lines.every_s, self._say_held)

    def _say_held(self) -> None:
        self._flush = None
        for key, count in self.lines.overdue(time.monotonic()):
            log.warning("%s %s", key, held_words(count, self.lines.every_s))
        if self.lines.held:
            self._flush_later()
