"""The kernel's publisher puts a frame on its socket only when a subscriber behind the
proxy matches its topic (its XPUB hears every subscription); whoever subscribes gets
every frame from the moment the publisher has heard it, and the publisher's own local
subscriptions get every frame whatever the socket does. Real proxy, real SUB sockets
over loopback TCP, as ``kernel tap`` connects."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bus.proxy import INPROC_PUBLISH, BusProxy
from bus.pubsub import Publisher

WAIT_S = 10.0


class Bus:
    def __init__(self) -> None:
        self.context: zmq.Context[Any] = zmq.Context()
        self.proxy = BusProxy(self.context, subscribe_endpoints=["tcp://127.0.0.1:*"])
        self.proxy.start()
        self.endpoint = self.proxy.subscribe_bound[-1]
        self.publisher = Publisher(self.context, INPROC_PUBLISH, source="tester")
        self.subs: list[zmq.Socket[bytes]] = []

    def subscriber(self, *prefixes: bytes) -> zmq.Socket[bytes]:
        sock: zmq.Socket[bytes] = self.context.socket(zmq.SUB)
        sock.linger = 0
        for prefix in prefixes:
            sock.subscribe(prefix)
        sock.connect(self.endpoint)
        self.subs.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.subs:
            sock.close(linger=0)
        self.publisher.close()
        self.proxy.stop()
        self.context.term()


@pytest.fixture
def bus() -> Iterator[Bus]:
    made = Bus()
    try:
        yield made
    finally:
        made.close()


def heard(publisher: Publisher, wanted: set[bytes]) -> None:
    """Wait until the publisher's view of the subscriptions is ``wanted``."""
    deadline = time.monotonic() + WAIT_S
    while publisher.subscriptions() != wanted:
        assert time.monotonic() < deadline, f"publisher heard {publisher.subscriptions()}"
        time.sleep(0.005)


def received(sock: zmq.Socket[bytes], count: int) -> list[bytes]:
    """The payloads of the next ``count`` messages, then checks no more is waiting."""
    payloads: list[bytes] = []
    for _ in range(count):
        assert sock.poll(int(WAIT_S * 1000)), f"only {payloads} arrived"
        payloads.append(sock.recv_multipart()[1])
    assert not sock.poll(100), "more arrived than was sent to this subscriber"
    return payloads


def test_with_no_subscriber_nothing_goes_on_the_socket_but_local_ones_get_all(
    bus: Bus,
) -> None:
    local = bus.publisher.subscribe_local(("order.",))
    bus.publisher.send_raw("order.update", b"1")
    bus.publisher.hold()
    bus.publisher.send_raw("order.request", b"2")
    bus.publisher.send_raw("order.decision", b"3")
    bus.publisher.release()
    assert bus.publisher.unheard == 3
    assert [local._frames.popleft().payload for _ in range(3)] == [b"1", b"2", b"3"]


def test_a_subscriber_gets_every_frame_of_its_topics_once_heard(bus: Bus) -> None:
    orders = bus.subscriber(b"order.")
    heard(bus.publisher, {b"order."})
    bus.publisher.send_raw("risk.state", b"skipped")
    bus.publisher.send_raw("order.update", b"1")
    bus.publisher.hold()
    bus.publisher.send_raw("order.request", b"2")
    bus.publisher.send_raw("risk.state", b"skipped too")
    bus.publisher.send_raw("order.decision", b"3")
    bus.publisher.release()
    assert received(orders, 3) == [b"1", b"2", b"3"]
    assert bus.publisher.unheard == 2


def test_everything_reaches_a_subscriber_to_all_topics(bus: Bus) -> None:
    tap = bus.subscriber(b"")  # what `kernel tap` does
    heard(bus.publisher, {b""})
    for n, topic in enumerate(("order.update", "risk.state", "x.y", "")):
        bus.publisher.send_raw(topic, str(n).encode())
    assert received(tap, 4) == [b"0", b"1", b"2", b"3"]
    assert bus.publisher.unheard == 0


def test_subscriptions_that_go_stop_the_sends_and_shared_ones_stay(bus: Bus) -> None:
    first = bus.subscriber(b"order.")
    second = bus.subscriber(b"order.", b"risk.")
    heard(bus.publisher, {b"order.", b"risk."})
    second.close(linger=0)
    bus.subs.remove(second)
    heard(bus.publisher, {b"order."})  # risk. had one subscriber; order. still has one
    bus.publisher.send_raw("order.update", b"1")
    bus.publisher.send_raw("risk.state", b"2")
    assert received(first, 1) == [b"1"]
    first.close(linger=0)
    bus.subs.remove(first)
    heard(bus.publisher, set())
    before = bus.publisher.unheard
    bus.publisher.send_raw("order.update", b"3")
    assert bus.publisher.unheard == before + 1
    again = bus.subscriber(b"order.")
    heard(bus.publisher, {b"order."})
    bus.publisher.send_raw("order.update", b"4")
    assert received(again, 1) == [b"4"]


def test_a_subscription_made_before_the_publisher_connected_is_heard(bus: Bus) -> None:
    early = bus.subscriber(b"order.")
    time.sleep(0.2)  # the proxy holds it before the second publisher exists
    late = Publisher(bus.context, INPROC_PUBLISH, source="late")
    try:
        heard(late, {b"order."})
        late.send_raw("order.update", b"1")
        assert received(early, 1) == [b"1"]
    finally:
        late.close()


def test_a_spared_frame_skips_one_subscription_alone(bus: Bus) -> None:
    tap = bus.subscriber(b"")
    heard(bus.publisher, {b""})
    engine = bus.publisher.subscribe_local(("order.",), bots=("a",))
    auditor = bus.publisher.subscribe_local(("order.",))
    assert not bus.publisher.spare_last(engine, "order.update", "a")  # nothing held
    bus.publisher.hold()
    bus.publisher.send_raw("order.update", b"1", bot_id="a")
    assert bus.publisher.spare_last(engine, "order.update", "a")
    bus.publisher.send_raw("order.update", b"2", bot_id="a")
    assert not bus.publisher.spare_last(engine, "order.update", "b")  # another bot's
    assert not bus.publisher.spare_last(engine, "order.fill", "a")  # another topic
    bus.publisher.release()
    bus.publisher.send_raw("order.update", b"3", bot_id="a")
    assert not bus.publisher.spare_last(engine, "order.update", "a")  # sent already
    assert [f.payload for f in engine._frames] == [b"2", b"3"]
    assert [f.payload for f in auditor._frames] == [b"1", b"2", b"3"]
    assert received(tap, 3) == [b"1", b"2", b"3"]
    bus.publisher.hold()
    bus.publisher.send_raw("order.update", b"4", bot_id="a")
    bus.publisher.release()  # a spare lasts for its own burst only
    assert [f.payload for f in engine._frames][-1] == b"4"
