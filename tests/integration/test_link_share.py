"""Fair service on a real ROUTER: a link's backlog delays another link's message by a
bounded number of its frames, however long the backlog is.

Two real DEALERs on loopback TCP: a flooder queues hundreds of frames, then a quiet
link sends one. The drain reads with the bot link's share per sender and records
each wake-up: no wake-up holds more than the share of one link, and the quiet
link's frame is handled within a share of the flooder's frames of arriving, its
wake-up ended (committed and answered, in the gateway) after at most a share of
them. Counted, never timed; and through ``kernel run``'s own gateway, the share it
reads with is the one checked here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bus import drain as drain_module
from bus.drain import SocketDrain
from bus.frames import recv_frames
from kernel import gateway as gateway_module
from kernel.gateway import Gateway
from tests.conftest import KernelHarness
from tests.support.router_pair import RouterPair, router_pair

SHARE = gateway_module._PER_LINK
BYTES = gateway_module._PER_LINK_BYTES
BACKLOG = 600


@pytest.fixture
def router() -> Iterator[RouterPair]:
    yield from router_pair()


def recording_drain(sock: zmq.Socket[Any], per_sender_bytes: int = 0,
                    ) -> tuple[list[list[bytes]], asyncio.Event, SocketDrain]:
    """A drain with the bot link's share that records each wake-up's senders, and an
    event set whenever the quiet link's frame is handled."""
    wakeups: list[list[bytes]] = [[]]
    got_quiet = asyncio.Event()

    def on_message(frames: list[bytes]) -> None:
        wakeups[-1].append(frames[0])
        if frames[0] == b"quiet":
            got_quiet.set()

    drain = SocketDrain(sock, on_message, batch=64, per_sender=SHARE,
                        per_sender_bytes=per_sender_bytes,
                        on_batch_end=lambda: wakeups.append([]), receive=recv_frames)
    return wakeups, got_quiet, drain


@pytest.mark.timeout(60)
async def test_a_backlog_delays_another_link_by_at_most_one_share(
    router: tuple[zmq.Socket[Any], zmq.Socket[Any], zmq.Socket[Any]],
) -> None:
    sock, flooder, quiet = router
    wakeups, got_quiet, drain = recording_drain(sock)
    quiet.send(b"hello")  # two links at work: the share applies from the first wake-up
    for n in range(BACKLOG):
        flooder.send(b"f%d" % n)
    drain.start()
    try:
        async with asyncio.timeout(30):
            while sum(map(len, wakeups)) < 2 * SHARE + 1:  # the flood is being read
                await asyncio.sleep(0.005)
            got_quiet.clear()
            quiet.send(b"order")
            await got_quiet.wait()
            while sum(map(len, wakeups)) < BACKLOG + 2:
                await asyncio.sleep(0.005)
    finally:
        drain.stop()
    done = [w for w in wakeups if w]
    assert sum(map(len, done)) == BACKLOG + 2 and drain.turns == len(done)
    assert all(w.count(b"flooder") <= SHARE for w in done)
    assert all(len(w) <= SHARE + 1 for w in done)  # one link at work: one share a wake-up
    turn = [w for w in done if b"quiet" in w][-1]
    # Read by the round robin within a frame of its arrival, answered once its wake-up
    # ends: after at most a share of the flooder's frames, never a whole batch of 64.
    assert turn.count(b"flooder") <= SHARE


@pytest.mark.timeout(60)
async def test_a_link_alone_gets_whole_batches_and_one_that_speaks_up_waits_one_at_most(
    router: tuple[zmq.Socket[Any], zmq.Socket[Any], zmq.Socket[Any]],
) -> None:
    """The share is for links that compete: a lone one's wake-ups (one journal commit
    each, in the gateway) hold the whole batch, and a link heard after a silence is
    answered within the rest of one batch, after which the share holds again."""
    sock, flooder, quiet = router
    wakeups: list[list[bytes]] = [[]]
    drain = SocketDrain(sock, lambda frames: wakeups[-1].append(frames[0]), batch=64,
                        per_sender=SHARE, on_batch_end=lambda: wakeups.append([]),
                        receive=recv_frames)
    for n in range(BACKLOG):
        flooder.send(b"f%d" % n)
    drain.start()
    try:
        async with asyncio.timeout(30):
            while sum(map(len, wakeups)) < 3 * 64:
                await asyncio.sleep(0.005)
            quiet.send(b"order")
            while sum(map(len, wakeups)) < BACKLOG + 1:
                await asyncio.sleep(0.005)
    finally:
        drain.stop()
    done = [w for w in wakeups if w]
    alone = done[:next(i for i, w in enumerate(done) if b"quiet" in w)]
    assert max(map(len, alone)) > SHARE  # nobody else at work: no share
    turn = next(i for i, w in enumerate(done) if b"quiet" in w)
    assert len(done[turn]) <= 64 and all(w.count(b"flooder") <= SHARE for w in done[turn + 1:])


@pytest.mark.timeout(60)
async def test_a_link_that_takes_over_from_a_silent_one_keeps_whole_batches(
    router: tuple[zmq.Socket[Any], zmq.Socket[Any], zmq.Socket[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Links share only while they compete: a link heard after the last one has been
    silent for longer than ``CROWD_S`` is alone, and its backlog is read in whole
    batches (one commit each in the gateway), not a share at a time."""
    monkeypatch.setattr(drain_module, "CROWD_S", 0.05)
    sock, flooder, quiet = router
    wakeups: list[list[bytes]] = [[]]
    drain = SocketDrain(sock, lambda frames: wakeups[-1].append(frames[0]), batch=64,
                        per_sender=SHARE, on_batch_end=lambda: wakeups.append([]),
                        receive=recv_frames)
    flooder.send(b"earlier")
    drain.start()
    try:
        async with asyncio.timeout(30):
            while sum(map(len, wakeups)) < 1:
                await asyncio.sleep(0.005)
            drain.stop()
            await asyncio.sleep(0.2)  # the flooder falls silent for longer than CROWD_S
            for n in range(200):
                quiet.send(b"q%d" % n)
            await asyncio.sleep(0.2)  # let the frames reach the ROUTER before reading
            drain.start()
            while sum(map(len, wakeups)) < 201:
                await asyncio.sleep(0.005)
    finally:
        drain.stop()
    quiet_turns = [w for w in wakeups if b"quiet" in w]
    assert max(map(len, quiet_turns)) > SHARE


@pytest.mark.timeout(60)
async def test_a_link_of_big_frames_has_its_share_in_bytes(
    router: tuple[zmq.Socket[Any], zmq.Socket[Any], zmq.Socket[Any]],
) -> None:
    """A share counted in frames alone let eight 200 kB frames (garbage, each half a
    millisecond to read and refuse) stand before another link's order: while links
    compete, one frame past the share in bytes ends the flooder's share."""
    sock, flooder, quiet = router
    wakeups, got_quiet, drain = recording_drain(sock, per_sender_bytes=BYTES)
    big = b"x" * 200_000
    quiet.send(b"hello")
    for _ in range(60):
        flooder.send(big)
    drain.start()
    try:
        async with asyncio.timeout(30):
            while sum(map(len, wakeups)) < 4:  # the flood is being read
                await asyncio.sleep(0.005)
            got_quiet.clear()
            quiet.send(b"order")
            await got_quiet.wait()
            while sum(map(len, wakeups)) < 62:
                await asyncio.sleep(0.005)
    finally:
        drain.stop()
    done = [w for w in wakeups if w]
    assert sum(map(len, done)) == 62
    heard = next(i for i, w in enumerate(done) if b"quiet" in w)  # from then on they compete
    assert all(w.count(b"flooder") <= 1 for w in done[heard + 1:])  # 200 kB: past 64 KiB
    assert [w for w in done if b"quiet" in w][-1].count(b"flooder") <= 1


async def test_kernel_runs_its_bot_link_with_the_share_per_link(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel()
    gateway = harness.kernel.gateway
    assert isinstance(gateway, Gateway) and gateway._drain is not None
    assert gateway._drain._per_sender == SHARE < gateway_module._BURST
    assert gateway._drain._per_sender_bytes == BYTES
