"""The console log of ``kernel run``: what a person watching it should know.

Heartbeats and decisions go to ``kernel tap``; the console tells the story in a
few lines: the bot starting, connecting, crashing or hanging, trading halted
or resumed, a mode change, an operator's action, an anomaly, an actor fault.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import msgspec
import zmq

from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import BusFrame, DrainedSubscriber
from kernel.summaries import severity, summarize

log = logging.getLogger("kernel.events")

NARRATED_TOPICS: Final = (
    "bot.lifecycle", "bot.exit", "risk.halt", "risk.limit", "risk.warning", "risk.day",
    "kernel.mode",
    "operator.command", "anomaly", "kernel.actor",
)
_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                  "error": logging.ERROR, "critical": logging.CRITICAL}


class Narrator:
    def __init__(self, context: zmq.Context[Any]) -> None:
        self._sub = DrainedSubscriber(context, INPROC_SUBSCRIBE, NARRATED_TOPICS, self._tell)

    def start(self) -> None:
        self._sub.start()

    def stop(self) -> None:
        self._sub.stop()

    def _tell(self, frame: BusFrame) -> None:
        try:
            body = msgspec.msgpack.decode(frame.payload)
        except msgspec.DecodeError:
            return
        if frame.topic == "kernel.actor" and body.get("state") not in {"FAULTED"}:
            return  # routine actor lifecycle steps are for the journal, not the console
        log.log(_LEVELS.get(severity(body), logging.INFO), "%s %s", frame.topic,
                summarize(body))
