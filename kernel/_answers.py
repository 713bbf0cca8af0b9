"""Handing an operator's request to the risk engine and waiting for its answer.

The control socket used to reply "requested" as soon as the request was journaled,
so ``kernel risk-multiplier 5`` exited 0 although the engine refused it, and the
refusal showed only in the tap. Now each such request carries a ``request_id``;
the engine answers it with an :class:`~kernel.events.OperatorCommandAnswered` of
the same id, journaled after the state it leaves is saved, and the control reply
waits for that answer (bounded by the request's ``wait_s``).

The answer is read from a local subscription of the kernel's own publisher, opened
before the request is published, so it cannot slip by between the two.
"""

from __future__ import annotations

import asyncio
import uuid

import msgspec

from bus.protocol import Message
from kernel.control_protocol import ActionAnswered, EngineAction, EngineRequest
from kernel.emitter import Emitter
from kernel.events import OperatorCommandAnswered

_decoder = msgspec.msgpack.Decoder(OperatorCommandAnswered)


def new_request_id() -> str:
    return f"op-{uuid.uuid4().hex[:16]}"


async def ask_engine(emitter: Emitter, request: Message, *, request_id: str,
                     wait_s: float) -> tuple[int, OperatorCommandAnswered | None]:
    """Journal ``request`` durably, publish it, and wait for the engine's answer to it.

    Returns the request's journal seq and the answer, or None when none came within
    ``wait_s`` (the engine is not running, restarting, or lost the request).
    """
    subscription = emitter.publisher.subscribe_local((OperatorCommandAnswered.topic,))
    try:
        seq = await emitter.emit_durable(request)
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    frame = await subscription.receive()
                    try:
                        answer = _decoder.decode(frame.payload)
                    except msgspec.DecodeError:
                        continue
                    if answer.request_id == request_id:
                        return seq, answer
        except TimeoutError:
            return seq, None
    finally:
        subscription.close()


def answered(request: EngineRequest, action: EngineAction, seq: int, request_id: str,
             answer: OperatorCommandAnswered | None) -> ActionAnswered:
    """The control reply: what the engine said, or plainly that it said nothing."""
    if answer is None:
        # No seq here: the console prints it once beside every answer (print_answer).
        detail = (f"{action} journaled and handed to the risk engine, but it did not "
                  f"answer within {request.wait_s:g} s: it may be down or restarting, so the "
                  f"{action} may not have been carried out. Check `kernel status`, then run it "
                  "again")
        return ActionAnswered(action=action, outcome="unanswered", detail=detail, seq=seq,
                              request_id=request_id)
    return ActionAnswered(action=action, outcome=answer.outcome, detail=answer.detail, seq=seq,
                          request_id=request_id)
