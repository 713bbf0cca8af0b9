"""A burst's replies go before its bus copies; the bus keeps its order while held."""

from __future__ import annotations

import asyncio

import zmq

from bus.codec import encode
from bus.protocol import OrderDecision, make_decision
from bus.pubsub import Publisher
from kernel._gateway_replies import Reply, all_committed, deliver
from kernel.emitter import Staged


def decision(request_id: str) -> OrderDecision:
    return make_decision(request_id=request_id, verdict="DENY", code="risk_engine_unavailable",
                         reason="closed", trading_state="HALTED", bot_id="qe-1", ts=1.0)


def staged(request_id: str, outcome: int | BaseException | None) -> Staged:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    elif outcome is not None:
        future.set_result(outcome)
    return Staged("order.decision", encode(decision(request_id)), future)


class Link:
    """What the gateway's ROUTER would have sent, in order."""

    def __init__(self, said: list[str]) -> None:
        self.said = said
        self.sent: list[OrderDecision] = []

    def send(self, identity: bytes, sent: OrderDecision, as_json: bool, payload: bytes) -> bool:
        self.said.append(f"reply {sent.request_id} {len(payload) > 0}")
        self.sent.append(sent)
        return True


async def test_every_reply_goes_before_any_decision_is_published() -> None:
    said: list[str] = []
    replies = [Reply(b"a", decision("r1"), False, staged("r1", 1)),
               Reply(b"b", decision("r2"), False, staged("r2", 2))]
    assert all_committed(replies)
    deliver(replies, send=Link(said).send,
            publish=lambda s: said.append(f"publish {s.topic}"),
            unjournaled=lambda *args: decision("never"))
    assert said == ["reply r1 True", "reply r2 True",
                    "publish order.decision", "publish order.decision"]


async def test_a_row_that_failed_is_answered_with_the_deny_and_never_published() -> None:
    link = Link([])
    published: list[Staged] = []
    failing = staged("r1", OSError("disk full"))
    failing.committed.exception()  # retrieved: the test loop must not warn about it
    replies = [Reply(b"a", decision("r1"), False, failing),
               Reply(b"b", decision("r2"), True, None)]
    deliver(replies, send=link.send, publish=published.append,
            unjournaled=lambda request_id, bot_id, exc: make_decision(
                request_id=request_id, verdict="DENY", code="journal_unavailable",
                reason=str(exc), trading_state="HALTED", bot_id=bot_id, ts=1.0))
    assert [(d.request_id, d.code) for d in link.sent] == [
        ("r1", "journal_unavailable"), ("r2", "risk_engine_unavailable")]
    assert published == []


async def test_a_reply_waits_while_its_commit_is_pending() -> None:
    assert not all_committed([Reply(b"a", decision("r1"), False, staged("r1", None))])


async def test_a_held_publisher_sends_nothing_until_released_then_all_in_order() -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    publisher = Publisher(context, "inproc://held-bus", source="gateway")
    local = publisher.subscribe_local(("order",))
    try:
        publisher.release()  # nothing held: nothing happens
        publisher.hold()
        publisher.send_raw("order.request", b"1")
        publisher.hold()  # idempotent: what is held stays held
        publisher.send_raw("order.decision", b"2", journaled=True)
        assert not local._frames
        publisher.release()
        frames = [await local.receive(), await local.receive()]
        assert [(f.topic, f.payload, f.header.journaled) for f in frames] == [
            ("order.request", b"1", False), ("order.decision", b"2", True)]
        publisher.send_raw("order.request", b"3")  # released: sent at once again
        assert (await local.receive()).payload == b"3"
    finally:
        local.close()
        publisher.close()
        context.term()
