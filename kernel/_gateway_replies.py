"""Answering a burst's orders: every reply first, then the bus copies.

A bot waits for its reply; the bus copies of its request and of the decision are
evidence for listeners (the auditor, the tap, the console), and each costs about
as much as the reply itself (a PUB send and the hand-over to local
subscriptions, some 20 µs). So the gateway holds the bus from the first order of
a burst (:meth:`bus.pubsub.Publisher.hold`), commits the burst, sends every reply,
then publishes the decisions and releases the bus, all in the same turn of the
loop: listeners get the same frames in the same order as before, a few tens of
microseconds later, and no bot waits for them. Nothing about durability changes:
a reply is still sent only once its decision's row is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

from bus.protocol import OrderDecision
from kernel.emitter import Staged


class Reply(NamedTuple):
    """A decision waiting for its journal commit before the bot may hear it."""

    identity: bytes
    decision: OrderDecision
    as_json: bool
    staged: Staged | None
    """None: the journal refused the row, so the answer will be a DENY."""


Send = Callable[[bytes, OrderDecision, bool, bytes], bool]
"""Send one reply: identity, decision, as JSON, its msgpack payload (b"": encode it)."""
Unjournaled = Callable[[str, str, BaseException], OrderDecision]
"""The DENY for an order whose rows the journal could not keep (request id, bot id, error)."""


def all_committed(replies: list[Reply]) -> bool:
    """True when every reply may go now (its row's commit is over, one way or the other)."""
    return all(r.staged is None or r.staged.committed.done() for r in replies)


def deliver(replies: list[Reply], *, send: Send, publish: Callable[[Staged], None],
            unjournaled: Unjournaled) -> None:
    """Send every reply, then publish the committed decisions in the burst's order;
    a decision whose row failed is answered with the DENY ``unjournaled`` makes."""
    committed: list[Staged] = []
    for identity, decision, as_json, staged in replies:
        payload = b""
        if staged is not None:
            error = _commit_error(staged.committed)
            if error is None:
                committed.append(staged)
                payload = staged.payload
            else:
                decision = unjournaled(decision.request_id, decision.bot_id, error)
        send(identity, decision, as_json, payload)
    for staged in committed:
        publish(staged)


def _commit_error(committed: asyncio.Future[int]) -> BaseException | None:
    return committed.exception() if not committed.cancelled() else asyncio.CancelledError()
