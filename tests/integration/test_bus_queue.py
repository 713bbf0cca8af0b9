"""Reading the bus from the loop: the drained queue actors read, and the drain's
per-burst hook, on a real proxy thread and real inproc sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bus.drain import SocketDrain
from bus.frames import NOBLOCK, recv_frames, send_frames
from bus.proxy import INPROC_PUBLISH, INPROC_SUBSCRIBE, BusProxy
from bus.pubsub import Publisher, QueuedSubscriber


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


async def live(publisher: Publisher, subscriber: QueuedSubscriber) -> None:
    """Publish probes until one arrives: the subscription has reached the proxy."""
    async with asyncio.timeout(10):
        while not await subscriber.poll(5):
            publisher.send_raw("test.probe", b"")
        while await subscriber.poll(20):
            await subscriber.receive()


async def test_frames_arrive_in_order_with_topic_and_header(context: zmq.Context[Any]) -> None:
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    subscriber = QueuedSubscriber(context, INPROC_SUBSCRIBE, ("test.",))
    subscriber.start()
    try:
        await live(publisher, subscriber)
        for n in range(1000):
            publisher.send_raw("test.n", str(n).encode(), journaled=n % 2 == 0)
        publisher.send_raw("other.topic", b"not subscribed")
        async with asyncio.timeout(10):
            frames = [await subscriber.receive() for _ in range(1000)]
        assert [int(f.payload) for f in frames] == list(range(1000))
        assert {f.topic for f in frames} == {"test.n"}
        assert [f.header.journaled for f in frames[:4]] == [True, False, True, False]
        assert frames[0].header.source == "tester"
        assert not await subscriber.poll(50)  # nothing else: other.topic was filtered
    finally:
        subscriber.close()
        publisher.close()


async def test_a_backlog_beyond_the_queue_waits_in_the_socket_and_none_is_lost(
    context: zmq.Context[Any],
) -> None:
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    subscriber = QueuedSubscriber(context, INPROC_SUBSCRIBE, ("test.",), high=64)
    subscriber.start()
    try:
        await live(publisher, subscriber)
        for n in range(5000):
            publisher.send_raw("test.n", str(n).encode())
        await asyncio.sleep(0.2)  # the loop runs; a reader without a bound would take all
        assert len(subscriber._frames) <= 64
        async with asyncio.timeout(10):
            frames = [await subscriber.receive() for _ in range(5000)]
        assert [int(f.payload) for f in frames] == list(range(5000))
    finally:
        subscriber.close()
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
