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

from bus.drain import SocketDrain
from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import parse_frames
from kernel.summaries import severity, summarize

log = logging.getLogger("kernel.events")

NARRATED_TOPICS: Final = (
    "bot.lifecycle", "bot.exit", "risk.halt", "risk.limit", "risk.day", "kernel.mode",
    "operator.command", "anomaly", "kernel.actor",
)
_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                  "error": logging.ERROR, "critical": logging.CRITICAL}


class Narrator:
    def __init__(self, context: zmq.Context[Any]) -> None:
        self._sock: zmq.Socket[bytes] = context.socket(zmq.SUB)
        self._sock.linger = 0
        for topic in NARRATED_TOPICS:
            self._sock.subscribe(topic.encode())
        self._sock.connect(INPROC_SUBSCRIBE)
        self._drain = SocketDrain(self._sock, self._tell)

    def start(self) -> None:
        self._drain.start()

    def stop(self) -> None:
        self._drain.stop()
        self._sock.close(linger=0)

    def _tell(self, frames: list[bytes]) -> None:
        frame = parse_frames(frames)
        try:
            body = msgspec.msgpack.decode(frame.payload)
        except msgspec.DecodeError:
            return
        if frame.topic == "kernel.actor" and body.get("state") not in {"FAULTED"}:
            return  # routine actor lifecycle steps are for the journal, not the console
        log.log(_LEVELS.get(severity(body), logging.INFO), "%s %s", frame.topic,
                summarize(body))
