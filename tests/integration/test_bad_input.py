"""A link flooding bad frames is answered up to its budget, then dropped, counted and
read slowly, while every other link is served (kernel/_gateway_bad_input.py).

Real DEALERs on loopback against a real ROUTER (the drain's hold) and against a real
kernel (the gateway's budget). Counts only, never time: how many frames of the held
link a wake-up reads, how many bad frames were answered and how many dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bus.drain import SocketDrain
from bus.frames import recv_frames
from bus.protocol import Error, Hello, OrderDecision
from kernel._gateway_bad_input import BAD_FRAMES_PER_S
from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.support.link import RawBot, order
from tests.support.router_pair import RouterPair, router_pair

BACKLOG = 120
FLOOD = 2000
ROUNDS = 20


@pytest.fixture
def router() -> Iterator[RouterPair]:
    yield from router_pair()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("share", "share_bytes", "size"), [
    (0, 0, 8),  # no share: the hold alone
    (8, 64 * 1024, 200 * 1024),  # the bot link's share, and frames that meet its bytes
])
async def test_a_held_link_is_read_a_few_frames_a_wake_up_and_loses_nothing(
    router: tuple[zmq.Socket[Any], zmq.Socket[Any], zmq.Socket[Any]],
    share: int, share_bytes: int, size: int,
) -> None:
    sock, flooder, quiet = router
    wakeups: list[list[bytes]] = [[]]
    holder: list[SocketDrain] = []

    def on_message(frames: list[bytes]) -> None:
        wakeups[-1].append(frames[0])
        if frames[0] == b"flooder":
            holder[0].hold()  # every frame of it over its budget

    drain = SocketDrain(sock, on_message, batch=64, receive=recv_frames,
                        per_sender=share, per_sender_bytes=share_bytes,
                        on_batch_end=lambda: wakeups.append([]))
    holder.append(drain)
    quiet.send(b"hello")  # two links at work: the share applies from the first wake-up
    for n in range(BACKLOG):
        flooder.send(b"%d" % n + b"f" * size)
    while not sock.poll(0):
        await asyncio.sleep(0.01)
    drain.start()
    try:
        while sum(w.count(b"flooder") for w in wakeups) < BACKLOG // 3:
            await asyncio.sleep(0.005)
        quiet.send(b"order")
        while sum(w.count(b"flooder") for w in wakeups) < BACKLOG \
                or sum(w.count(b"quiet") for w in wakeups) < 2:
            await asyncio.sleep(0.005)
    finally:
        drain.stop()
    # Two held frames in a row end a wake-up (three with the one prefetched, four
    # with another link's frame between them); without the hold: 64.
    assert max(w.count(b"flooder") for w in wakeups) <= 4
    assert sum(w.count(b"flooder") for w in wakeups) == BACKLOG  # read slowly, all of it
    assert drain.holds >= BACKLOG // 4
    # A dropped frame is no share of work: a wake-up never ends at one held frame alone
    # (at the byte share it did, and the round never reached the quiet link's queue).
    assert sum(w == [b"flooder"] for w in wakeups) <= 1
    quiet_turn = [w for w in wakeups if b"quiet" in w][-1]
    assert quiet_turn.index(b"quiet") <= 2  # behind at most two frames of the held link


@pytest.fixture
async def harness(start_kernel: Any) -> KernelHarness:
    h: KernelHarness = await start_kernel()
    return h


@pytest.mark.timeout(120)
async def test_a_flood_of_bad_frames_is_answered_up_to_its_budget_then_counted(
    harness: KernelHarness,
) -> None:
    gateway = harness.kernel.gateway
    assert gateway is not None
    endpoint = harness.endpoints["bot_link"]
    flooder, bot = RawBot(endpoint), RawBot(endpoint)
    try:
        await bot.greet()
        for n in range(FLOOD):  # a link that never said hello: the strays' budget
            await flooder.send_raw(b"\x00\xffgarbage %d" % n)
        budget = gateway.sessions.stray_bad
        while gateway.faults.counts.get("bad_frame", 0) + budget.dropped_total < FLOOD:
            await asyncio.sleep(0.05)
        answered = gateway.faults.counts["bad_frame"]
        assert budget.dropped_total >= FLOOD - answered > 0
        assert answered >= BAD_FRAMES_PER_S  # the first second's worth, one by one
        codes: list[str] = []
        while not await flooder.nothing_within(1.0):
            reply = await flooder.recv()
            assert isinstance(reply, Error)
            codes.append(reply.code)
        assert codes.count("bad_frame") == answered
        assert codes.count("link_flooded") >= 1  # told, once a second, how many dropped
        # The bot that said hello has a budget of its own: its bad frame is answered,
        # and its order decided, however much the other link sent.
        await bot.send_raw(b"\x00\xffits own mistake")
        reply = await bot.recv()
        assert isinstance(reply, Error) and reply.code == "bad_frame"
        await bot.send(order("after-the-flood"))
        decision = await bot.recv()
        assert isinstance(decision, OrderDecision) and decision.request_id == "after-the-flood"
    finally:
        flooder.close()
        bot.close()
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix="anomaly",
                        limit=100_000)
    assert any(b"link_flooded" in row.payload and b"dropped unanswered" in row.payload
               for row in rows)


async def test_a_hello_again_does_not_refill_the_links_budget_of_bad_frames(
    harness: KernelHarness,
) -> None:
    """A fuzzer's mutated hellos that still decode were each a new session with a full
    budget: every bad frame between them was answered (3,000 a second, budget 100)."""
    gateway = harness.kernel.gateway
    assert gateway is not None
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.greet()
        started = time.monotonic()
        for round_ in range(ROUNDS):
            for n in range(int(BAD_FRAMES_PER_S)):
                await bot.send_raw(b"\x00\xffgarbage %d %d" % (round_, n))
            await bot.send(Hello(bot_id="qe-1", mode="paper", pid=7))  # the same link again
        sessions = gateway.sessions.by_bot_id("qe-1")
        while gateway.faults.counts.get("bad_frame", 0) + sessions[0].bad.dropped_total \
                < ROUNDS * BAD_FRAMES_PER_S:
            await asyncio.sleep(0.05)
            sessions = gateway.sessions.by_bot_id("qe-1")
        elapsed = time.monotonic() - started
    finally:
        bot.close()
    answered = gateway.faults.counts["bad_frame"]
    # one bucket, a second deep, refilled at its rate: never a fresh one per hello
    assert answered <= BAD_FRAMES_PER_S * (1 + elapsed) + 1, (answered, elapsed)
    assert len(sessions) == 1 and sessions[0].bad.dropped_total > 0
