"""Journaling for the tools, durably: the control socket's ``record`` request.

``kernel proposals``, ``kernel meta run`` and ``kernel report`` run in their own
processes; with a kernel running, the kernel's journal is the only writer. They
used to publish on the bus and take the bus's echo for "journaled", but the
recorder appends remote frames without waiting for the commit, so with a journal
that could not commit a decision was reported journaled, taken, and then lost.
Here the kernel journals the message with :meth:`Emitter.emit_durable` and
answers :class:`Recorded` only after the commit; a failed commit is a
``ControlError`` and the tool does not take the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec

from bus.pubsub import Publisher
from kernel.control import ControlServer
from kernel.control_protocol import Recorded, RecordRequest
from kernel.emitter import Emitter
from kernel.journal import Journal
from kernel.messages import decode_message

RECORDABLE: Final = ("meta.", "audit.daily", "anomaly", "llm.")
"""Topic prefixes a tool may journal this way: its jobs, proposals, audits, anomalies,
and the LLM calls of the built-in Meta-Agent (counted against the daily budget)."""


def register_record_requests(control: ControlServer, journal: Journal, publisher: Publisher,
                             clock: Callable[[], float]) -> None:
    """Install the handler of :class:`RecordRequest`."""

    async def record(request: RecordRequest) -> Recorded:
        try:
            message = decode_message(request.payload)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not a message this kernel knows: {exc}") from exc
        if not message.topic.startswith(RECORDABLE):
            raise ValueError(f"topic {message.topic!r} cannot be recorded by a tool (only "
                             f"{', '.join(RECORDABLE)})")
        emitter = Emitter(source=f"control:{request.source}", journal=journal,
                          publisher=publisher, clock=clock)
        seq = await emitter.emit_durable(message)
        return Recorded(seq=seq, topic=message.topic)

    control.register(RecordRequest, record)
