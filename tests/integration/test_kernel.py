"""The microkernel with real actors, a real bus, a real journal and control socket."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import msgspec
import pytest
import zmq

from bus.codec import encode, encode_header
from bus.protocol import Heartbeat, Message, OrderDecision
from kernel.actor import Actor
from kernel.console.control_client import KernelUnreachable, ask
from kernel.control_protocol import HaltRequest, StatusReply, StatusRequest
from kernel.events import AnomalyDetected
from kernel.exit_codes import EXIT_HALTED, EXIT_OK, EXIT_START_FAILED
from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.support.link import RawBot, order
from tests.support.stand_in_gateway import socket_nobody_listens_on


def beat(seq: int, bot_id: str = "qe-1") -> Heartbeat:
    return Heartbeat(bot_id=bot_id, seq=seq, ts=1.0, uptime_s=1.0, equity=10_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0)


class Echo(Actor):
    """Turns each heartbeat into an anomaly, so the round trip is visible."""

    name: ClassVar[str] = "echo"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.heartbeat",)

    async def handle(self, message: Message) -> Sequence[Message]:
        assert isinstance(message, Heartbeat)
        return [AnomalyDetected(kind="echo", severity="info", ts=message.ts, source=self.name,
                                detail=f"seq {message.seq}")]


class Crashing(Actor):
    """Raises on every heartbeat."""

    name: ClassVar[str] = "crashing"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.heartbeat",)

    async def handle(self, message: Message) -> Sequence[Message]:
        raise RuntimeError("deliberate failure")


class FailsToStart(Actor):
    """Its first start raises, as an actor with a missing resource would."""

    name: ClassVar[str] = "fails_to_start"

    async def start(self, ctx: Any) -> None:
        await super().start(ctx)
        raise OSError("the model file is missing")


class CrashesThenFailsToStart(Crashing):
    """Starts once, crashes on a heartbeat, and every later start raises."""

    name: ClassVar[str] = "flaky_start"
    starts: ClassVar[list[int]] = []

    async def start(self, ctx: Any) -> None:
        await super().start(ctx)
        self.starts.append(1)
        if len(self.starts) > 1:
            raise OSError("cannot reopen")


def rows(harness: KernelHarness, topic: str = "") -> list[Any]:
    return read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)


def bodies(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    return [msgspec.msgpack.decode(r.payload) for r in rows(harness, topic)]


async def wait_for(predicate: Any, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_an_actor_handles_what_it_subscribes_to_and_publishes_replies(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel(actors=[Echo])
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(beat(7))
        await wait_for(lambda: any(b["detail"] == "seq 7" for b in bodies(harness, "anomaly")))
        echoed = [r for r in rows(harness, "anomaly") if r.source == "echo"]
        assert echoed and echoed[0].kind == "anomaly"
    finally:
        bot.close()
    assert await harness.stop() == EXIT_OK
    states = [(b["actor"], b["state"]) for b in bodies(harness, "kernel.actor")]
    assert states == [("echo", s) for s in ("STARTING", "RUNNING", "STOPPING", "STOPPED")]
    kernel_states = [b["state"] for b in bodies(harness, "kernel.state")]
    assert kernel_states == ["starting", "running", "stopping", "stopped"]


async def test_a_crashing_actor_is_restarted_then_halts_the_kernel(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel(actors=[Crashing, Echo])
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        seq = 0
        while not harness.task.done():  # each heartbeat crashes it once more
            await bot.send(beat(seq))
            seq += 1
            await asyncio.wait({harness.task}, timeout=0.05)
            assert seq < 500, "the kernel never gave up"
        assert harness.task.result() == EXIT_HALTED
        reason = harness.kernel.halt_reason
        assert "crashing gave up" in reason and "crashed 3 times" in reason
        assert "deliberate failure" in reason
    finally:
        bot.close()
    faulted = [b for b in bodies(harness, "kernel.actor") if b["state"] == "FAULTED"]
    assert len(faulted) == 3 and all("RuntimeError" in b["detail"] for b in faulted)
    halted = [b for b in bodies(harness, "kernel.state") if b["state"] == "halted"]
    assert halted and "crashed 3 times" in halted[0]["reason"]


async def test_an_actor_whose_first_start_fails_is_a_start_failure(start_kernel: Any) -> None:
    """Not a crash to restart: nothing ran yet, so the kernel stops with exit 3 at once,
    naming the actor and the error, and never reports itself ready."""
    harness: KernelHarness = await start_kernel(actors=[Echo, FailsToStart], wait_ready=False)
    assert await asyncio.wait_for(harness.task, 10) == 3 == EXIT_START_FAILED
    assert not harness.kernel.ready.is_set()
    error = harness.kernel.start_error
    assert "actor fails_to_start failed to start" in error
    assert "OSError: the model file is missing" in error
    states = [(b["actor"], b["state"]) for b in bodies(harness, "kernel.actor")]
    assert ("fails_to_start", "FAULTED") in states
    assert not [b for b in bodies(harness, "kernel.state") if b["state"] == "halted"]


async def test_a_restart_that_fails_to_start_is_one_more_crash(start_kernel: Any) -> None:
    """After a first good start, a failing start counts against the restart limit."""
    CrashesThenFailsToStart.starts.clear()
    harness: KernelHarness = await start_kernel(actors=[CrashesThenFailsToStart])
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(beat(0))
        assert await asyncio.wait_for(harness.task, 10) == EXIT_HALTED
    finally:
        bot.close()
    assert "flaky_start gave up" in harness.kernel.halt_reason
    assert "cannot reopen" in harness.kernel.halt_reason
    assert len(CrashesThenFailsToStart.starts) == 3


async def test_status_over_the_control_socket(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel(actors=[Echo])
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        from bus.protocol import Hello
        await bot.send(Hello(bot_id="qe-9", mode="demo", pid=42))
        await bot.recv()
        reply = await asyncio.to_thread(ask, harness.endpoints["control"], StatusRequest())
    finally:
        bot.close()
    assert isinstance(reply, StatusReply)
    assert [(a.name, a.state) for a in reply.actors] == [("echo", "RUNNING")]
    assert [(b.bot_id, b.pid, b.mode) for b in reply.bots] == [("qe-9", 42, "demo")]
    assert reply.trading_state == "HALTED" and reply.gate == "ClosedGate"
    assert reply.endpoints["bot_link"] == harness.endpoints["bot_link"]


@contextlib.contextmanager
def silent_listener() -> Iterator[str]:
    """A loopback endpoint that takes connections and never answers."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
    sock.bind("tcp://127.0.0.1:*")
    try:
        yield sock.LAST_ENDPOINT.decode()
    finally:
        sock.close(linger=0)


def test_status_without_a_kernel_says_so_plainly() -> None:
    with silent_listener() as endpoint, pytest.raises(
            KernelUnreachable, match=rf"no kernel answered on {re.escape(endpoint)} within 0.2 s"):
        ask(endpoint, StatusRequest(), timeout_s=0.2)


def test_a_command_where_nothing_listens_is_told_so_without_waiting_out_its_timeout() -> None:
    """``kernel halt`` with no kernel running: the refused connection says it, not the
    ten seconds an action may wait for a kernel whose journal fails."""
    with socket_nobody_listens_on() as endpoint, pytest.raises(
            KernelUnreachable, match=rf"nothing listens on {re.escape(endpoint)} \(connection "
            r"refused\): is `kernel run` running with this config\?"):
        ask(endpoint, HaltRequest(reason="x", user="test"), timeout_s=300)


async def test_an_endpoint_in_use_is_a_clear_start_failure(
    start_kernel: Any, tmp_path: Any
) -> None:
    first: KernelHarness = await start_kernel()
    port = first.endpoints["bot_link"].rsplit(":", 1)[1]
    from kernel.microkernel import Kernel
    from kernel.settings import load_settings
    from tests.conftest import write_config

    config = write_config(tmp_path / "second", ports={"link": int(port)})
    second = Kernel(load_settings(config))
    assert await asyncio.wait_for(second.run(), 10) == EXIT_START_FAILED
    assert "cannot bind" in second.start_error and "kernel.yaml" in second.start_error


async def test_frames_from_remote_publishers_are_journaled(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel()
    pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
    pub.linger = 0
    pub.connect(harness.endpoints["bus_publish"])
    try:
        for i in range(300):  # until the connection is up; each try is a distinct seq
            pub.send_multipart([b"bot.heartbeat", encode(beat(i, "remote")),
                                encode_header("far-away")])
            await asyncio.sleep(0.005)
            if rows(harness, "bot.heartbeat"):
                break
        await wait_for(lambda: bool(rows(harness, "bot.heartbeat")))
    finally:
        pub.close()
    row = rows(harness, "bot.heartbeat")[0]
    assert row.source == "bus:far-away" and row.kind == "heartbeat"


async def test_a_decision_row_names_the_bot(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel()
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.greet("qe-7")
        await bot.send(order("named", bot_id="qe-7"))
        decision = await bot.recv()
    finally:
        bot.close()
    assert isinstance(decision, OrderDecision) and decision.bot_id == "qe-7"
