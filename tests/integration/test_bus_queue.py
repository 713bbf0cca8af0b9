"""Reading the bus inside the kernel: the local subscriptions actors read, the
drain's per-burst hook and the int-flag multipart helpers, on real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bus import pubsub
from bus.codec import encode_header
from bus.drain import SocketDrain
from bus.frames import NOBLOCK, recv_frames, recv_routed, send_frames
from bus.proxy import INPROC_PUBLISH, INPROC_SUBSCRIBE, BusProxy
from bus.pubsub import DrainedSubscriber, LocalSubscription, Publisher, parse_frames


@pytest.fixture
def context() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    proxy = BusProxy(context)
    proxy.start()
    try:
        yield context
    finally:
        proxy.stop()
        context.term()


async def nothing_within(subscription: LocalSubscription, timeout_s: float) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            await subscription.receive()
    except TimeoutError:
        return True
    return False


async def test_local_subscriptions_get_the_publishers_frames_in_order(
    context: zmq.Context[Any],
) -> None:
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    orders = publisher.subscribe_local(("order.",))
    everything = publisher.subscribe_local(("",))
    try:
        for n in range(1000):
            publisher.send_raw("order.n", str(n).encode(), journaled=n % 2 == 0)
        publisher.send_raw("risk.state", b"not for orders")
        publisher.deliver_local(parse_frames([b"order.remote", b"from afar",
                                              encode_header("remote-actor")]))
        publisher.deliver_local(parse_frames([b"order.plain", b"two frames"]))
        async with asyncio.timeout(10):
            frames = [await orders.receive() for _ in range(1002)]
        assert [int(f.payload) for f in frames[:1000]] == list(range(1000))
        assert [f.header.journaled for f in frames[:4]] == [True, False, True, False]
        assert frames[0].header.source == "tester"
        assert (frames[1000].topic, frames[1000].header.source) == ("order.remote",
                                                                     "remote-actor")
        assert (frames[1001].payload, frames[1001].header.source) == (b"two frames", "unknown")
        assert await nothing_within(orders, 0.02)  # risk.state was not for this subscription
        topics = [(await everything.receive()).topic for _ in range(1003)]
        assert topics[1000] == "risk.state"
    finally:
        orders.close()
        everything.close()
        publisher.close()


async def test_a_subscriber_that_falls_too_far_behind_loses_the_newest_frames_counted(
    context: zmq.Context[Any], caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    slow = publisher.subscribe_local(("test.",), limit=64)
    try:
        for n in range(100):
            publisher.send_raw("test.n", str(n).encode())
        assert slow.dropped == 36
        assert "64 frames behind" in caplog.text
        frames = [await slow.receive() for _ in range(64)]
        assert [int(f.payload) for f in frames] == list(range(64))
        slow.close()
        publisher.send_raw("test.n", b"after close")
        assert await nothing_within(slow, 0.02)
    finally:
        publisher.close()


async def test_the_drain_reports_the_end_of_each_burst(context: zmq.Context[Any]) -> None:
    pull: zmq.Socket[bytes] = context.socket(zmq.PULL)
    push: zmq.Socket[bytes] = context.socket(zmq.PUSH)
    pull.bind("inproc://drain-test")
    push.connect("inproc://drain-test")
    events: list[str] = []
    drain = SocketDrain(pull, lambda frames: events.append(frames[0].decode()),
                        on_batch_end=lambda: events.append("end"), batch=4)
    drain.start()
    try:
        for n in range(6):
            push.send(str(n).encode())
        async with asyncio.timeout(10):
            while len(events) - events.count("end") < 6 or events[-1] != "end":
                await asyncio.sleep(0.001)
        # at most 4 per wake-up, each burst closed by its end
        assert [e for e in events if e != "end"] == [str(n) for n in range(6)]
        assert events[-1] == "end"
        runs = "".join("|" if e == "end" else "x" for e in events).split("|")
        assert all(len(run) <= 4 for run in runs)
    finally:
        drain.stop()
        pull.close(linger=0)
        push.close(linger=0)


def test_frames_go_and_come_as_one_message_with_int_flags() -> None:
    context: zmq.Context[Any] = zmq.Context()
    a: zmq.Socket[bytes] = context.socket(zmq.PAIR)
    b: zmq.Socket[bytes] = context.socket(zmq.PAIR)
    try:
        a.bind("inproc://frames-test")
        b.connect("inproc://frames-test")
        with pytest.raises(zmq.Again):
            recv_frames(b, NOBLOCK)
        send_frames(a, (b"topic", b"", b"header"), NOBLOCK)
        send_frames(a, (b"alone",))
        assert b.poll(5000)
        assert recv_frames(b, NOBLOCK) == [b"topic", b"", b"header"]
        assert recv_frames(b) == [b"alone"]
    finally:
        a.close(linger=0)
        b.close(linger=0)
        context.term()


def test_a_routed_message_reads_as_every_part_behind_its_sender() -> None:
    """``recv_routed`` (the gateway's read) gives what ``recv_frames`` gives for a
    ROUTER's messages of one, two and three parts, and leaves the next one whole."""
    context: zmq.Context[Any] = zmq.Context()
    router: zmq.Socket[bytes] = context.socket(zmq.ROUTER)
    dealer: zmq.Socket[bytes] = context.socket(zmq.DEALER)
    try:
        router.bind("inproc://routed-test")
        dealer.routing_id = b"bot-1"
        dealer.connect("inproc://routed-test")
        with pytest.raises(zmq.Again):
            recv_routed(router, NOBLOCK)
        sent = [(b"order",), (b"", b"two"), (b"a", b"b", b"c" * 300)]
        for message in sent * 2:
            send_frames(dealer, message)
        assert router.poll(5000)
        for message in sent:
            assert recv_routed(router) == [b"bot-1", *message]
        for message in sent:
            assert recv_frames(router) == [b"bot-1", *message]
        with pytest.raises(zmq.Again):
            recv_routed(router, NOBLOCK)
    finally:
        router.close(linger=0)
        dealer.close(linger=0)
        context.term()


async def test_a_subscriber_is_bounded_in_bytes_as_well_as_frames(
    context: zmq.Context[Any],
) -> None:
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    slow = publisher.subscribe_local(("test.",), limit=1000, max_bytes=1000)
    try:
        for _ in range(10):
            publisher.send_raw("test.n", b"x" * 300)
        assert slow.dropped == 6  # 4 frames (1,200 bytes) reach the bound, the rest go
        for _ in range(4):
            await slow.receive()
        publisher.send_raw("test.n", b"y" * 300)  # room again once the frames were read
        assert (await slow.receive()).payload == b"y" * 300 and slow.dropped == 6
    finally:
        slow.close()
        publisher.close()


async def test_a_subscriber_of_costly_frames_lets_the_loop_run_between_them(
    context: zmq.Context[Any],
) -> None:
    """The console's narrator renders a line per frame (milliseconds each): with a
    batch of one, other tasks (the gateway) run between any two of its frames, even
    when a flood of anomalies brings them all at once."""
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    turns = 0
    seen: list[tuple[str, int]] = []
    subscriber = DrainedSubscriber(context, INPROC_SUBSCRIBE, ("test.",),
                                   lambda frame: seen.append((frame.topic, turns)), batch=1)
    subscriber.start()

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.get_running_loop().create_task(other_task())
    try:
        async with asyncio.timeout(10):
            while not seen:  # the subscription is live once a probe comes through
                publisher.send_raw("test.probe", b"")
                await asyncio.sleep(0.01)
            for _ in range(20):
                publisher.send_raw("test.burst", b"x")
            while sum(topic == "test.burst" for topic, _ in seen) < 20:
                await asyncio.sleep(0.001)
        burst = [turn for topic, turn in seen if topic == "test.burst"]
        assert len(set(burst)) == 20  # never two frames in one turn of the loop
    finally:
        other.cancel()
        subscriber.stop()
        publisher.close()


async def test_a_kept_topic_waits_past_both_bounds_up_to_its_own(
    context: zmq.Context[Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A halt is queued behind a flood that fills the inbox; past ``KEPT_BEYOND`` more,
    even kept frames go, so the inbox stays bounded."""
    monkeypatch.setattr(pubsub, "KEPT_BEYOND", 3)
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    slow = publisher.subscribe_local(("test.",), limit=4, max_bytes=1000, kept=("test.halt",))
    try:
        for _ in range(10):
            publisher.send_raw("test.n", b"x" * 100)
        assert slow.dropped == 6
        for n in range(5):
            publisher.send_raw("test.halt", str(n).encode())
        assert slow.dropped == 8  # three kept past the bound, the last two dropped
        publisher.send_raw("test.halted", b"a longer name is another topic")
        assert slow.dropped == 9
        frames = [await slow.receive() for _ in range(7)]
        assert [f.payload for f in frames[4:]] == [b"0", b"1", b"2"]
        big = publisher.subscribe_local(("test.",), limit=100, max_bytes=100, kept=("test.halt",))
        publisher.send_raw("test.n", b"x" * 100)  # the bytes' bound reached
        publisher.send_raw("test.halt", b"y" * 100)
        publisher.send_raw("test.n", b"z")
        assert big.dropped == 1  # the "z" after the halt
        for _ in range(3):  # past the bytes' bound too, three kept frames at most
            publisher.send_raw("test.halt", b"w")
        assert big.dropped == 2
        assert [(await big.receive()).payload[:1] for _ in range(4)] == [b"x", b"y", b"w", b"w"]
        big.close()
    finally:
        slow.close()
        publisher.close()
