"""Journaling what other processes publish on the bus, and telling the actors.

Publishers inside the kernel journal their own messages (see
:mod:`kernel.emitter`). Remote actors, ``kernel report`` and the like publish
to the intake proxy (:mod:`bus.proxy`), which forwards their frames to the
bus's subscribers at C speed; this recorder subscribes to the intake alone, so
it reads exactly the remote frames, never the kernel's own traffic (two
messages per order). Each frame is journaled (unless its header says the
journal has it) and then handed to the actors inside the kernel, which hear
the bus through the kernel's publisher (:class:`bus.pubsub.LocalSubscription`):
an actor never sees a remote frame the journal does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import zmq

from bus.proxy import INPROC_REMOTE
from bus.pubsub import BusFrame, DrainedSubscriber, Publisher
from kernel.journal import Journal, JournalEntry


class BusRecorder:
    def __init__(self, context: zmq.Context[Any], journal: Journal, clock: Callable[[], float],
                 *, local: Publisher) -> None:
        # rcvhwm 0: never drop, the journal must see every remote frame
        self._sub = DrainedSubscriber(context, INPROC_REMOTE, ("",), self._record, rcvhwm=0)
        self._journal = journal
        self._clock = clock
        self._local = local
        self.recorded = 0

    def start(self) -> None:
        self._sub.start()

    def stop(self) -> None:
        self._sub.stop()

    def _record(self, frame: BusFrame) -> None:
        if not frame.header.journaled and not frame.topic.startswith("_"):
            self.recorded += 1
            self._journal.append(JournalEntry(
                ts=self._clock(), topic=frame.topic, source=f"bus:{frame.header.source}",
                kind=_kind(frame.payload), payload=frame.payload))
        self._local.deliver_local(frame)


def _kind(payload: bytes) -> str:
    try:
        raw = msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return "undecodable"
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) else "untyped"
