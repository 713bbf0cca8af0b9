"""The bot link through a real kernel: real ROUTER/DEALER sockets on loopback,
a real SQLite journal. Every bad input gets a reason and loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import zmq
import zmq.asyncio

from bus.codec import encode
from bus.drain import readable
from bus.protocol import (
    Command,
    CommandAck,
    Error,
    Heartbeat,
    Hello,
    OrderDecision,
    OrderRequest,
    TradingState,
    Welcome,
)
from kernel._gateway_sessions import LinkBudget
from kernel.gate import MultiplierNote
from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.support.link import RawBot, order


@pytest.fixture
async def harness(start_kernel: Any) -> KernelHarness:
    h: KernelHarness = await start_kernel()
    return h


@pytest.fixture
async def bot(harness: KernelHarness) -> AsyncIterator[RawBot]:
    raw = RawBot(harness.endpoints["bot_link"])
    yield raw
    raw.close()


def journal_every_refusal(harness: KernelHarness) -> None:
    """For the tests of bursts and commits, which send orders from links that never said
    hello: journal every refusal, not only the quota's (kernel/_gateway_refusals.py)."""
    gateway = harness.kernel.gateway
    assert gateway is not None
    gateway.refusals = LinkBudget(per_s=1e9, burst=1e9, tokens=1e9)


def journal_rows(harness: KernelHarness, topic: str = "") -> list[Any]:
    return read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)


async def eventually_rows(harness: KernelHarness, topic: str) -> list[Any]:
    """Rows appended without waiting for the commit show up shortly after."""
    for _ in range(500):
        found = journal_rows(harness, topic)
        if found:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {topic} rows in the journal")


async def test_hello_is_answered_with_welcome(harness: KernelHarness, bot: RawBot) -> None:
    await bot.send(Hello(bot_id="qe-1", mode="paper", pid=123, version="1.0"))
    welcome = await bot.recv()
    assert isinstance(welcome, Welcome)
    assert welcome.heartbeat_interval_s == 0.2
    assert welcome.trading_state == "HALTED"  # no risk engine: the gate is closed


async def test_json_frames_are_answered_in_json(harness: KernelHarness, bot: RawBot) -> None:
    await bot.send_raw(b'{"type":"hello","bot_id":"js","mode":"demo","pid":1}')
    reply = await bot.recv_json()
    assert reply["type"] == "welcome"
    await bot.send_raw(msgspec.json.encode(order("j1")))
    decision = await bot.recv_json()
    assert decision["type"] == "order_decision" and decision["request_id"] == "j1"


async def test_without_a_risk_engine_every_order_is_denied_and_journaled_first(
    harness: KernelHarness, bot: RawBot
) -> None:
    await bot.greet()
    sent = time.time()
    await bot.send(order("r-1"))
    decision = await bot.recv()
    assert isinstance(decision, OrderDecision)
    assert (decision.verdict, decision.code) == ("DENY", "risk_engine_unavailable")
    assert sent <= decision.ts <= time.time()  # stamped when decided: its latency is its own
    assert "risk engine is not running" in decision.reason
    # The reply was sent only after the decision's row was committed.
    rows = journal_rows(harness, "order.decision")
    assert [msgspec.msgpack.decode(r.payload)["request_id"] for r in rows] == ["r-1"]
    assert (await eventually_rows(harness, "order.request"))[0].source == "gateway"


@pytest.mark.parametrize(("frame", "code", "words"), [
    (b"\x00\xffgarbage\x13", "bad_frame", "could not decode"),
    (encode(Hello(bot_id="x", mode="paper", pid=1))[:-3], "bad_frame", "could not decode"),
    (b'{"type": "heartbeat", "bot_id": 7}', "bad_frame", "Expected `str`"),
    (b'{"type": "launch_missiles"}', "bad_frame", "Invalid value 'launch_missiles'"),
    (b'{"type": "welcome", "heartbeat_interval_s": 1, "trading_state": "ACTIVE"}', "bad_frame",
     "Invalid value 'welcome'"),
    (b"[1, 2, 3]", "bad_frame", "could not decode"),
    (b"{" + b" " * 70_000 + b"}", "frame_too_large", "exceeds the limit of 65536 bytes"),
])
async def test_bad_frames_get_an_error_with_the_reason(
    harness: KernelHarness, bot: RawBot, frame: bytes, code: str, words: str
) -> None:
    await bot.send_raw(frame)
    reply = await bot.recv() if not frame.startswith(b"{") else None
    if reply is None:
        raw = await bot.recv_json()
        assert raw["type"] == "error"
        reply = Error(reason=raw["reason"], code=raw["code"])
    assert isinstance(reply, Error)
    assert reply.code == code
    assert words in reply.reason
    anomalies = await eventually_rows(harness, "anomaly")
    assert msgspec.msgpack.decode(anomalies[-1].payload)["kind"] == code


async def test_a_one_megabyte_frame_is_refused_and_the_link_keeps_serving(
    harness: KernelHarness, bot: RawBot
) -> None:
    await bot.send_raw(b"\x93" + b"x" * 1_000_000)
    reply = await bot.recv()
    assert isinstance(reply, Error) and reply.code == "frame_too_large"
    await bot.send(order("after-big"))
    assert isinstance(await bot.recv(), OrderDecision)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("qty", -1, "Expected `float` > 0.0 - at `$.qty`"),
    ("qty", 0, "Expected `float` > 0.0"),
    ("side", "hold", "Invalid enum value 'hold' - at `$.side`"),
    ("price", "NaN", "Expected `float`, got `str`"),
    ("price", 1e300, "Expected `float` < "),
])
async def test_an_invalid_order_request_is_denied_with_invalid_request(
    harness: KernelHarness, bot: RawBot, field: str, value: Any, words: str
) -> None:
    raw = msgspec.to_builtins(order("bad-1"))
    raw[field] = value
    await bot.send_raw(msgspec.msgpack.encode(raw))
    decision = await bot.recv()
    assert isinstance(decision, OrderDecision)
    assert (decision.request_id, decision.verdict, decision.code) == (
        "bad-1", "DENY", "invalid_request")
    assert words in decision.reason
    assert journal_rows(harness, "order.decision")


async def test_a_multi_frame_message_is_refused(harness: KernelHarness, bot: RawBot) -> None:
    await bot.send_raw(encode(order("m1")), b"extra")
    reply = await bot.recv()
    assert isinstance(reply, Error) and "exactly one frame" in reply.reason


async def test_a_bot_that_vanishes_does_not_stall_others(harness: KernelHarness) -> None:
    endpoint = harness.endpoints["bot_link"]
    journal_every_refusal(harness)
    for i in range(20):  # bots that ask and leave before the answer
        ghost = RawBot(endpoint)
        await ghost.send(order(f"ghost-{i}"))
        ghost.sock.close(linger=2000)  # the request leaves; the socket is gone before the answer
    survivor = RawBot(endpoint)
    try:
        await survivor.send(order("alive"))
        decision = await survivor.recv()
        assert isinstance(decision, OrderDecision) and decision.request_id == "alive"
    finally:
        survivor.close()
    # Every decision is journaled, delivered or not.
    ids = {msgspec.msgpack.decode(r.payload)["request_id"]
           for r in journal_rows(harness, "order.decision")}
    assert {"alive"} | {f"ghost-{i}" for i in range(20)} <= ids


async def test_many_orders_in_flight_each_get_exactly_one_decision(
    harness: KernelHarness, bot: RawBot
) -> None:
    await bot.greet()
    for i in range(500):
        await bot.send(order(f"p-{i}"))
    seen = [(await bot.recv()) for _ in range(500)]
    assert sorted(d.request_id for d in seen if isinstance(d, OrderDecision)) == sorted(
        f"p-{i}" for i in range(500))
    # decided in bursts, each burst committed before its replies went out
    rows = journal_rows(harness, "order.decision")
    assert sorted(msgspec.msgpack.decode(r.payload)["request_id"] for r in rows) == sorted(
        f"p-{i}" for i in range(500))
    assert await bot.nothing_within(0.1)


async def test_heartbeats_are_republished_on_the_bus(harness: KernelHarness, bot: RawBot) -> None:
    sub = zmq.asyncio.Context.instance().socket(zmq.SUB)
    sub.linger = 0
    sub.subscribe(b"bot.heartbeat")
    sub.connect(harness.endpoints["bus_subscribe"])
    try:
        beat = Heartbeat(bot_id="qe-1", seq=0, ts=1.0, uptime_s=1.0, equity=10_000.0,
                         realized_pnl=0.0, unrealized_pnl=0.0)
        # Keep beating until the subscription is live (no fixed sleep).
        for seq in range(200):
            await bot.send(msgspec.structs.replace(beat, seq=seq))
            if await sub.poll(20):
                break
        topic, payload, header = await asyncio.wait_for(sub.recv_multipart(), 2)
        assert topic == b"bot.heartbeat"
        assert msgspec.msgpack.decode(payload)["bot_id"] == "qe-1"
        assert msgspec.msgpack.decode(header)[0] == "gateway"
    finally:
        sub.close()


async def test_a_bursts_bus_copies_follow_its_replies_request_before_decision(
    harness: KernelHarness, bot: RawBot
) -> None:
    """The replies go first, then the burst's bus copies (kernel/_gateway_replies.py):
    every order still shows on the bus as its request, then its decision."""
    sub = zmq.asyncio.Context.instance().socket(zmq.SUB)
    sub.linger = 0
    sub.subscribe(b"order.")
    sub.connect(harness.endpoints["bus_subscribe"])
    try:
        await bot.greet()
        for probe in range(200):  # until the subscription is live (no fixed sleep)
            await bot.send(order(f"probe-{probe}"))
            await bot.recv()
            if await sub.poll(20):
                break
        while await sub.poll(50):
            await sub.recv_multipart()
        for i in range(64):  # sent at once: read in one or a few bursts
            await bot.send(order(f"b-{i}"))
        answered = [(await bot.recv()) for _ in range(64)]
        assert [getattr(d, "request_id", None) for d in answered] == [f"b-{i}" for i in range(64)]
        seen: list[tuple[bytes, str]] = []
        while len(seen) < 128:
            topic, payload, _ = await asyncio.wait_for(sub.recv_multipart(), 5)
            seen.append((topic, msgspec.msgpack.decode(payload)["request_id"]))
        for i in range(64):
            assert seen.index((b"order.request", f"b-{i}")) < seen.index(
                (b"order.decision", f"b-{i}"))
        requests = [rid for topic, rid in seen if topic == b"order.request"]
        decisions = [rid for topic, rid in seen if topic == b"order.decision"]
        assert requests == decisions == [f"b-{i}" for i in range(64)]
    finally:
        sub.close()


class ExplodingGate:
    trading_state: TradingState = "ACTIVE"
    risk_multiplier = 1.0
    risk_multiplier_note = MultiplierNote()

    def decide(self, order: OrderRequest, now: float) -> OrderDecision:
        raise ZeroDivisionError("boom")


async def test_a_gate_that_raises_fails_closed(harness: KernelHarness, bot: RawBot) -> None:
    assert harness.kernel.services is not None
    harness.kernel.services.set_gate(ExplodingGate())
    await bot.greet()
    await bot.send(order("x-1"))
    decision = await bot.recv()
    assert isinstance(decision, OrderDecision)
    assert (decision.verdict, decision.code) == ("DENY", "internal_error")
    assert "ZeroDivisionError" in decision.reason
    await bot.send(order("x-2"))  # still serving
    assert isinstance(await bot.recv(), OrderDecision)


async def test_with_a_journal_that_syncs_each_commit_bursts_wait_for_its_writer(
    start_kernel: Any,
) -> None:
    harness = await start_kernel(kernel_extra="journal: {synchronous: full}")
    journal_every_refusal(harness)
    packed, texty = RawBot(harness.endpoints["bot_link"]), RawBot(harness.endpoints["bot_link"])
    try:
        for i in range(200):  # two bots, msgpack and JSON, in the same bursts
            await packed.send(order(f"m-{i}"))
            await texty.send_raw(msgspec.json.encode(order(f"j-{i}")))
        binary = [await packed.recv(timeout_s=15) for _ in range(200)]
        textual = [await texty.recv_json(timeout_s=15) for _ in range(200)]
    finally:
        packed.close()
        texty.close()
    assert sorted(d.request_id for d in binary if isinstance(d, OrderDecision)) == sorted(
        f"m-{i}" for i in range(200))
    assert sorted(d["request_id"] for d in textual) == sorted(f"j-{i}" for i in range(200))
    rows = journal_rows(harness, "order.decision")  # every reply waited for its row
    assert len({msgspec.msgpack.decode(r.payload)["request_id"] for r in rows}) == 400


async def test_an_undelivered_command_names_the_bot_and_the_command(
    harness: KernelHarness,
) -> None:
    gone = RawBot(harness.endpoints["bot_link"])
    await gone.greet("qe-gone")
    gone.sock.close(linger=0)
    services = harness.kernel.services
    assert services is not None
    for _ in range(200):  # until the ROUTER has noticed the peer left
        if not services.send_command(Command(command_id="c-9", action="close_all"),
                                     bot_id="qe-gone"):
            break
        await asyncio.sleep(0.01)
    rows = await eventually_rows(harness, "anomaly")
    details = [msgspec.msgpack.decode(r.payload)["detail"] for r in rows]
    assert any(d.startswith("command close_all (c-9) for bot qe-gone not delivered")
               for d in details), details


async def test_a_frame_queued_when_the_gateway_stops_is_handled_not_dropped(
    harness: KernelHarness, bot: RawBot,
) -> None:
    """A bot's last words (its acknowledgement of the shutdown command, sent as it exits)
    may reach the socket's queue after the loop's last read: the stop reads it first."""
    await bot.greet("qe-1")
    gateway = harness.kernel.gateway
    assert gateway is not None and gateway._sock is not None
    await bot.send(CommandAck(command_id="c-1", ok=True, detail="bye", bot_id="qe-1"))
    deadline = time.monotonic() + 10
    while not readable(gateway._sock):  # blocks the loop: its reader cannot run meanwhile
        assert time.monotonic() < deadline, "the frame never reached the gateway's queue"
        time.sleep(0.001)  # noqa: ASYNC251 - on purpose: the loop must not turn
    await gateway.stop()
    assert await harness.stop() == 0
    acks = [msgspec.msgpack.decode(r.payload) for r in journal_rows(harness, "bot.command_ack")]
    assert [a["detail"] for a in acks] == ["bye"]
