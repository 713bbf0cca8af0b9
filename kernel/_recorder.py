"""Journaling what other processes publish on the bus.

Publishers inside the kernel journal their own messages (see
:mod:`kernel.emitter`) and mark the frames; this recorder journals every
unmarked frame, i.e. what remote actors published on the TCP bus endpoint.
"""

from __future__ import annotations

from typing import Any

import msgspec
import zmq

from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import BusFrame, DrainedSubscriber
from kernel.journal import Journal, JournalEntry


class BusRecorder:
    def __init__(self, context: zmq.Context[Any], journal: Journal, clock: Any) -> None:
        # rcvhwm 0: never drop, the journal must see every remote frame
        self._sub = DrainedSubscriber(context, INPROC_SUBSCRIBE, ("",), self._record, rcvhwm=0)
        self._journal = journal
        self._clock = clock
        self.recorded = 0

    def start(self) -> None:
        self._sub.start()

    def stop(self) -> None:
        self._sub.stop()

    def _record(self, frame: BusFrame) -> None:
        if frame.header.journaled or frame.topic.startswith("_"):
            return
        self.recorded += 1
        self._journal.append(JournalEntry(
            ts=self._clock(), topic=frame.topic, source=f"bus:{frame.header.source}",
            kind=_kind(frame.payload), payload=frame.payload))


def _kind(payload: bytes) -> str:
    try:
        raw = msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return "undecodable"
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) else "untyped"
