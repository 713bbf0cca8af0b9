"""Journaling what other processes publish on the bus.

Publishers inside the kernel journal their own messages (see
:mod:`kernel.emitter`) and mark the frames; this recorder journals every
unmarked frame, i.e. what remote actors published on the TCP bus endpoint.
"""

from __future__ import annotations

from typing import Any

import msgspec
import zmq

from bus.drain import SocketDrain
from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import parse_frames
from kernel.journal import Journal, JournalEntry


class BusRecorder:
    def __init__(self, context: zmq.Context[Any], journal: Journal, clock: Any) -> None:
        self._sock: zmq.Socket[bytes] = context.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = 0  # never drop: the journal must see every remote frame
        self._sock.subscribe(b"")
        self._sock.connect(INPROC_SUBSCRIBE)
        self._journal = journal
        self._clock = clock
        self._drain = SocketDrain(self._sock, self._record)
        self.recorded = 0

    def start(self) -> None:
        self._drain.start()

    def stop(self) -> None:
        self._drain.stop()
        self._sock.close(linger=0)

    def _record(self, frames: list[bytes]) -> None:
        frame = parse_frames(frames)
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
