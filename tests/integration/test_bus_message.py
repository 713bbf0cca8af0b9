"""The kernel's actors get a message published in the kernel as the object its emitter
built, with no decode, and a frame from another process decoded: on the real publisher
socket, a real journal file and the real actor runner."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from bus.codec import encode, encode_header
from bus.protocol import Fill, Heartbeat, Message, OrderUpdate, Position
from bus.pubsub import MESSAGES_WITHIN, Publisher, parse_frames
from kernel.actor import Actor
from kernel.emitter import Emitter
from kernel.journal import Journal
from kernel.messages import decode_message
from tests.support.actors import lone_runner


class Listener(Actor):
    """Notes each message it is handed and whether it came as sent."""

    name: ClassVar[str] = "listener"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.", "order.")
    heard: ClassVar[list[tuple[Message, bool]]] = []

    async def handle(self, message: Message) -> Sequence[Message]:
        self.heard.append((message, self.ctx.as_sent))
        return ()


def beat(seq: int) -> Heartbeat:
    return Heartbeat(bot_id="a", seq=seq, ts=1.0, uptime_s=1.0, equity=1.0, realized_pnl=0.0,
                     unrealized_pnl=0.0, positions=[Position(symbol="BTCUSDT", qty=1,
                                                             avg_price=2.0, mark_price=2.0)])


async def test_the_runner_hands_a_local_message_itself_and_decodes_a_remote_one(
    publisher: Publisher, tmp_path: Path,
) -> None:
    Listener.heard.clear()
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    emitter = Emitter(source="gateway", journal=journal, publisher=publisher, clock=time.time)
    runner = lone_runner(Listener, emitter=emitter, journal=journal, publisher=publisher)
    ready = asyncio.Event()
    task = asyncio.create_task(runner.supervise(ready))
    remote = Fill(request_id="r-9", symbol="BTCUSDT", side="buy", qty=1.0, price=2.0, ts=1.0)
    try:
        async with asyncio.timeout(10):
            await ready.wait()
            emitted = beat(1)
            emitter.emit(emitted)
            staged_beat = beat(2)
            staged = emitter.stage(staged_beat)
            await staged.committed
            emitter.publish(staged)
            held = OrderUpdate(request_id="r-1", status="cancelled", ts=1.0, bot_id="a")
            publisher.hold()  # the gateway's burst: sent after its replies
            emitter.emit(held)
            publisher.release()
            aside = beat(3)
            emitter.set_aside(aside)
            publisher.deliver_local(parse_frames([b"order.fill", encode(remote),
                                                  encode_header("elsewhere")]))
            while len(Listener.heard) < 5:
                await asyncio.sleep(0.01)
        local = [emitted, staged_beat, held, aside]
        for (got, as_sent), sent in zip(Listener.heard, local, strict=False):
            assert got is sent and as_sent  # the very object: no decode
        got, as_sent = Listener.heard[4]
        assert got == remote and got is not remote and not as_sent
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await journal.close()


def test_a_frame_from_elsewhere_carries_no_message(publisher: Publisher) -> None:
    everyone = publisher.subscribe_local(("",))
    publisher.deliver_local(parse_frames([b"order.fill", b"x", encode_header("elsewhere")]))
    publisher.send_raw("order.fill", b"y")  # raw bytes alone: nothing to hand over
    assert [f.message for f in everyone._frames] == [None, None]


def test_a_subscription_far_behind_keeps_the_payload_alone(publisher: Publisher) -> None:
    """Past MESSAGES_WITHIN queued frames the message is not kept beside the payload
    (the listener decodes it when it comes to it): a backlog costs what it did."""
    behind = publisher.subscribe_local(("bot.",))
    sent = [beat(n) for n in range(MESSAGES_WITHIN + 2)]
    for message in sent:
        publisher.send_raw("bot.heartbeat", encode(message), message=message)
    frames = list(behind._frames)
    assert all(f.message is m for f, m in zip(frames[:MESSAGES_WITHIN], sent, strict=False))
    assert [f.message for f in frames[MESSAGES_WITHIN:]] == [None, None]
    assert [decode_message(f.payload) for f in frames[MESSAGES_WITHIN:]] == sent[-2:]
