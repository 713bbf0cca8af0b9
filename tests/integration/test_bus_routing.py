"""Routing by bot inside the kernel: a frame sent for one bot reaches only the local
subscriptions that want that bot and those that want every bot, never decoded on
the way; a frame for no bot reaches all. On the real publisher socket, a real
journal file and the real actor runner."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
import zmq

from bus.codec import encode_header
from bus.protocol import Heartbeat, Message, OrderUpdate
from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import LocalSubscription, Publisher, parse_frames
from kernel.actor import Actor
from kernel.emitter import Emitter
from kernel.events import OperatorCommandIssued
from kernel.journal import Journal
from kernel.messages import decode_message
from tests.support.actors import lone_runner


def waiting(subscription: LocalSubscription) -> list[bytes]:
    """The payloads queued for ``subscription`` now, taken off its queue."""
    taken = []
    while subscription._frames:  # what waits, without awaiting
        taken.append(subscription._frames.popleft().payload)
    return taken


def test_a_frame_for_one_bot_reaches_its_subscription_and_the_unfiltered_ones(
    publisher: Publisher,
) -> None:
    bot_a = publisher.subscribe_local(("order.", "bot."), bots=("a",))
    bot_b = publisher.subscribe_local(("order.", "bot."), bots=("b",))
    everyone = publisher.subscribe_local(("",))
    beats = publisher.subscribe_local(("bot.",))
    publisher.send_raw("order.update", b"a1", bot_id="a")
    publisher.send_raw("order.update", b"b1", bot_id="b")
    publisher.send_raw("bot.heartbeat", b"a2", bot_id="a")
    publisher.send_raw("operator.command", b"all", bot_id="a")  # no engine's prefix
    publisher.send_raw("order.update", b"none")  # for no bot: every matching subscription
    publisher.deliver_local(parse_frames([b"order.update", b"remote",
                                          encode_header("elsewhere")]))  # never routed
    assert waiting(bot_a) == [b"a1", b"a2", b"none", b"remote"]
    assert waiting(bot_b) == [b"b1", b"none", b"remote"]
    assert waiting(everyone) == [b"a1", b"b1", b"a2", b"all", b"none", b"remote"]
    assert waiting(beats) == [b"a2"]


def test_routes_follow_subscriptions_that_come_and_go(publisher: Publisher) -> None:
    first = publisher.subscribe_local(("order.",), bots=("a",))
    publisher.send_raw("order.update", b"1", bot_id="a")
    first.close()  # a restarting actor: its successor subscribes anew
    second = publisher.subscribe_local(("order.",), bots=("a",))
    other = publisher.subscribe_local(("order.",), bots=("b",))
    publisher.send_raw("order.update", b"2", bot_id="a")
    publisher.send_raw("order.update", b"3", bot_id="b")
    assert waiting(first) == [b"1"]
    assert waiting(second) == [b"2"]
    assert waiting(other) == [b"3"]


def test_many_topics_and_bots_keep_the_route_table_bounded(publisher: Publisher) -> None:
    everyone = publisher.subscribe_local(("",))
    for n in range(5000):  # remote publishers may use any topic
        publisher.send_raw(f"x.{n}", b"", bot_id=f"bot-{n % 7}")
    assert len(publisher._routes) <= 4096
    assert len(waiting(everyone)) == 5000


async def test_the_emitter_routes_each_message_by_its_own_bot_id(
    publisher: Publisher, tmp_path: Path,
) -> None:
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    try:
        emitter = Emitter(source="gateway", journal=journal, publisher=publisher,
                          clock=time.time)
        bot_a = publisher.subscribe_local(("order.", "operator."), bots=("a",))
        bot_b = publisher.subscribe_local(("order.", "operator."), bots=("b",))
        emitter.emit(OrderUpdate(request_id="r-1", status="cancelled", ts=1.0, bot_id="a"))
        emitter.emit(OperatorCommandIssued(action="halt", reason="test", user="op", ts=1.0))
        staged = emitter.stage(OrderUpdate(request_id="r-2", status="cancelled", ts=1.0,
                                           bot_id="b"))
        await staged.committed
        emitter.publish(staged)
        assert [_what(p) for p in waiting(bot_a)] == ["r-1", "halt"]
        assert [_what(p) for p in waiting(bot_b)] == ["halt", "r-2"]
    finally:
        await journal.close()


def _what(payload: bytes) -> str:
    message = decode_message(payload)
    return message.action if isinstance(message, OperatorCommandIssued) else \
        getattr(message, "request_id", "?")


class Recorder(Actor):
    """Hears bot ``a``'s messages and those for no bot; has no filter of its own."""

    name: ClassVar[str] = "recorder.a"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.heartbeat", "operator.command")
    heard: ClassVar[list[Message]] = []

    def bots(self) -> frozenset[str] | None:
        return frozenset(("a",))

    async def handle(self, message: Message) -> Sequence[Message]:
        self.heard.append(message)
        return ()


async def test_the_runner_subscribes_an_actor_to_its_own_bots_only(
    publisher: Publisher, tmp_path: Path,
) -> None:
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    emitter = Emitter(source="kernel", journal=journal, publisher=publisher, clock=time.time)
    runner = lone_runner(Recorder, emitter=emitter, journal=journal, publisher=publisher)
    ready = asyncio.Event()
    task = asyncio.create_task(runner.supervise(ready))
    try:
        async with asyncio.timeout(10):
            await ready.wait()
            for bot in ("b", "a", "c"):
                emitter.emit(Heartbeat(bot_id=bot, seq=1, ts=1.0, uptime_s=1.0, equity=1.0,
                                       realized_pnl=0.0, unrealized_pnl=0.0))
            emitter.emit(OperatorCommandIssued(action="halt", reason="all", user="op", ts=1.0))
            while len(Recorder.heard) < 2:
                await asyncio.sleep(0.01)
        assert [type(m).__name__ for m in Recorder.heard] == ["Heartbeat",
                                                               "OperatorCommandIssued"]
        assert isinstance(Recorder.heard[0], Heartbeat) and Recorder.heard[0].bot_id == "a"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await journal.close()


def test_a_held_burst_reaches_the_socket_and_the_routes_as_the_frames_sent_one_by_one(
    publisher: Publisher,
) -> None:
    """``release`` sends in one loop what ``send_raw`` would: the same frames on the
    socket, in order, and the same routing by bot to the local subscriptions."""
    bot_a = publisher.subscribe_local(("order.",), bots=("a",))
    everyone = publisher.subscribe_local(("",))
    listener = publisher._sock.context.socket(zmq.SUB)
    listener.subscribe(b"")
    listener.rcvtimeo = 10_000  # bounded: a lost frame fails, never hangs
    listener.connect(INPROC_SUBSCRIBE)
    sends = [("order.request", b"r", "a"), ("order.update", b"u", "b"),
             ("order.decision", b"d", "a"), ("risk.state", b"s", "")]
    try:
        deadline = time.monotonic() + 10
        while not listener.poll(10):  # until the proxy passes frames to the listener
            assert time.monotonic() < deadline, "the listener never got a frame"
            publisher.send_raw("probe", b"")
        while listener.poll(50):
            listener.recv_multipart()
        waiting(everyone)  # the probes
        for held in (False, True):
            if held:
                publisher.hold()
            for topic, payload, bot in sends:
                publisher.send_raw(topic, payload, journaled=held, bot_id=bot)
            publisher.release()
            assert waiting(bot_a) == [b"r", b"d"]
            assert waiting(everyone) == [b"r", b"u", b"d", b"s"]
            seen = [parse_frames(listener.recv_multipart()) for _ in sends]
            assert [(f.topic, f.payload, f.header.journaled) for f in seen] == [
                (topic, payload, held) for topic, payload, _ in sends]
    finally:
        listener.close(linger=0)
