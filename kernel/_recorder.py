"""Taking in what other processes publish: journal each frame, then put it on the bus.

Publishers inside the kernel journal their own messages (see
:mod:`kernel.emitter`) and publish straight on the bus's inproc side. Remote
actors, ``kernel report`` and the like publish to the TCP publish endpoint,
which this recorder binds with its own SUB socket: every frame is journaled
first (unless its header says a row is already in the journal) and then
forwarded, unchanged, onto the bus. So the recorder sees only remote frames,
never the kernel's own traffic (two messages per order at 10,000 orders a
second), and a subscriber never sees a remote frame the journal does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec
import zmq

from bus.drain import SocketDrain
from bus.pubsub import Publisher, parse_frames
from bus.security import bind_checked
from kernel.journal import Journal, JournalEntry

_HWM: Final = 200_000
"""Queue depth per remote publisher, as on the bus: a flood loses frames only past this."""


class BusRecorder:
    def __init__(self, context: zmq.Context[Any], journal: Journal, clock: Callable[[], float],
                 *, endpoints: Sequence[str], forward: Publisher) -> None:
        self._sock: zmq.Socket[bytes] = context.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = _HWM
        self._sock.subscribe(b"")
        self._endpoints = endpoints
        self._journal = journal
        self._clock = clock
        self._forward = forward
        self._drain = SocketDrain(self._sock, self._take)
        self.bound: list[str] = []
        """The actual endpoints, in the order asked (``tcp://127.0.0.1:*`` resolved)."""
        self.recorded = 0

    def start(self) -> None:
        """Bind (a failure is raised to the caller) and start taking frames."""
        self.bound = [bind_checked(self._sock, endpoint) for endpoint in self._endpoints]
        self._drain.start()

    def stop(self) -> None:
        self._drain.stop()
        self._sock.close(linger=0)

    def _take(self, frames: list[bytes]) -> None:
        frame = parse_frames(frames)
        if not frame.header.journaled and not frame.topic.startswith("_"):
            self.recorded += 1
            self._journal.append(JournalEntry(
                ts=self._clock(), topic=frame.topic, source=f"bus:{frame.header.source}",
                kind=_kind(frame.payload), payload=frame.payload))
        self._forward.forward(frames)


def _kind(payload: bytes) -> str:
    try:
        raw = msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return "undecodable"
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) else "untyped"
