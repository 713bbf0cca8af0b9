"""The bot library against a real ROUTER on loopback that plays the gateway.

The stand-in gateway runs in a thread with its own socket, so the client's
waiting (blocking poll, or the event loop's reader) is exercised for real.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from bus.client import AsyncBotLink, BotLink, LinkError, LinkTimeout, new_request_id
from bus.codec import bot_frame_decoder, encode, encode_json, is_json
from bus.protocol import (
    BotToKernel,
    Command,
    CommandAck,
    Error,
    Fill,
    Heartbeat,
    Hello,
    KernelToBot,
    OrderDecision,
    OrderRequest,
    Welcome,
)

Policy = Callable[[BotToKernel], list[KernelToBot]]


def allow(order: OrderRequest) -> OrderDecision:
    return OrderDecision(request_id=order.request_id, verdict="ALLOW", reason="within limits",
                         code="ok", trading_state="ACTIVE")


def deny(order: OrderRequest, code: str = "daily_loss_limit") -> OrderDecision:
    return OrderDecision(request_id=order.request_id, verdict="DENY", reason="limit reached",
                         code=code, trading_state="HALTED")


def welcome(interval: float = 0.5) -> Welcome:
    return Welcome(heartbeat_interval_s=interval, trading_state="ACTIVE", risk_multiplier=0.5)


def standard(message: BotToKernel) -> list[KernelToBot]:
    """Welcome every hello, allow every order, answer nothing else (like the gateway)."""
    match message:
        case Hello():
            return [welcome()]
        case OrderRequest():
            return [allow(message)]
    return []


class Gateway:
    """A ROUTER in a thread: records what bots send and answers through ``policy``."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:*", policy: Policy = standard) -> None:
        self.policy = policy
        self.received: list[BotToKernel] = []
        self.raw: list[bytes] = []
        self._changed = threading.Condition()
        self._outbox: list[KernelToBot] = []
        self._stop = threading.Event()
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._socket = context.socket(zmq.ROUTER)
        self._socket.linger = 0
        _bind(self._socket, endpoint)
        self.endpoint = self._socket.LAST_ENDPOINT.decode()
        self._peer: tuple[bytes, bool] | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def push(self, message: KernelToBot) -> None:
        """Send to the last bot heard from (a command, or a late decision)."""
        with self._changed:
            self._outbox.append(message)

    def wait_for(self, predicate: Callable[[list[BotToKernel]], bool],
                 timeout_s: float = 5.0) -> list[BotToKernel]:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.received), timeout_s):
                raise AssertionError(f"gateway never saw it; got {self.received!r}")
            return list(self.received)

    def of_type(self, kind: type[Any]) -> list[Any]:
        with self._changed:
            return [m for m in self.received if isinstance(m, kind)]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                if self._socket.poll(10):
                    identity, frame = self._socket.recv_multipart()
                    self._peer = (identity, is_json(frame))
                    message = bot_frame_decoder.decode(frame)
                    with self._changed:
                        self.received.append(message)
                        self.raw.append(frame)
                        self._changed.notify_all()
                    self._reply(self.policy(message))
                with self._changed:
                    pending, self._outbox = self._outbox, []
                self._reply(pending)
        finally:
            self._socket.close(linger=0)

    def _reply(self, messages: list[KernelToBot]) -> None:
        if messages and self._peer is not None:
            identity, as_json = self._peer
            for message in messages:
                body = encode_json(message) if as_json else encode(message)
                self._socket.send_multipart([identity, body])


def _bind(socket: zmq.Socket[bytes], endpoint: str) -> None:
    """Rebinding the port a stopped gateway just left can take a moment."""
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.bind(endpoint)
            return
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    yield server
    server.stop()


def order(request_id: str | None = None, **overrides: Any) -> OrderRequest:
    fields: dict[str, Any] = dict(request_id=request_id or new_request_id(), bot_id="qe-test",
                                  ts=time.time(), symbol="BTCUSDT", side="buy", qty=0.01,
                                  price=60_000.0)
    fields.update(overrides)
    return OrderRequest(**fields)


def fill(request_id: str) -> Fill:
    return Fill(request_id=request_id, symbol="BTCUSDT", side="buy", qty=0.01, price=60_000.0,
                ts=time.time(), fee=0.24)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# --- blocking -------------------------------------------------------------------


def test_hello_is_answered_with_welcome(gateway: Gateway) -> None:
    with BotLink(gateway.endpoint, bot_id="qe-test", mode="demo", version="1.2") as link:
        got = link.hello(timeout_s=5)
        assert got == welcome() and link.welcome == got and link.trading_state == "ACTIVE"
    hello = gateway.of_type(Hello)[0]
    assert (hello.bot_id, hello.mode, hello.pid, hello.version) == ("qe-test", "demo",
                                                                      os.getpid(), "1.2")


def test_a_refused_hello_raises_with_the_kernels_reason(gateway: Gateway) -> None:
    gateway.policy = lambda m: [Error(reason="protocol 1 is not supported")]
    with BotLink(gateway.endpoint, bot_id="qe-test") as link, \
            pytest.raises(LinkError, match="protocol 1 is not supported"):
        link.hello(timeout_s=5)


def test_heartbeat_fill_and_ack_reach_the_gateway(gateway: Gateway) -> None:
    with BotLink(gateway.endpoint, bot_id="qe-test") as link:
        link.hello()
        assert link.heartbeat(uptime_s=1.5, equity=10_000, realized_pnl=1, unrealized_pnl=-2)
        assert link.heartbeat(uptime_s=2.5, equity=10_001, realized_pnl=1, unrealized_pnl=-1)
        assert link.report_fill(fill("r1"))
        assert link.ack("c1", ok=False, detail="nothing to close")
        gateway.wait_for(lambda got: any(isinstance(m, CommandAck) for m in got))
    beats = [m.seq for m in gateway.of_type(Heartbeat)]
    assert beats == [1, 2]
    assert gateway.of_type(Fill)[0].bot_id == "qe-test"
    assert gateway.of_type(CommandAck)[0] == CommandAck(command_id="c1", ok=False,
                                                         detail="nothing to close",
                                                         bot_id="qe-test")


def test_orders_must_go_through_can_execute(gateway: Gateway) -> None:
    with BotLink(gateway.endpoint, bot_id="qe-test") as link, pytest.raises(TypeError):
        link.send(order())


def test_decision_is_returned_for_its_request(gateway: Gateway) -> None:
    gateway.policy = lambda m: [deny(m)] if isinstance(m, OrderRequest) else standard(m)
    with BotLink(gateway.endpoint, bot_id="qe-test") as link:
        link.hello()
        request = order("r-1")
        decision = link.can_execute(request, timeout_s=5)
    assert decision == deny(request)
    assert gateway.of_type(OrderRequest) == [request]


def test_timeout_denies_and_a_late_decision_is_discarded(gateway: Gateway) -> None:
    first, second = order("r-late"), order("r-next")

    def policy(message: BotToKernel) -> list[KernelToBot]:
        if message == first:
            return []  # the kernel is slow on this one...
        if message == second:
            return [allow(first), deny(second)]  # ...its ALLOW arrives just before r-next's DENY
        return standard(message)

    gateway.policy = policy
    with BotLink(gateway.endpoint, bot_id="qe-test") as link:
        link.hello()
        started = time.monotonic()
        timed_out = link.can_execute(first, timeout_s=0.2)
        assert time.monotonic() - started < 2
        assert (timed_out.verdict, timed_out.code, timed_out.request_id) == ("DENY", "timeout",
                                                                              "r-late")
        assert "no decision" in timed_out.reason
        assert link.can_execute(second, timeout_s=5) == deny(second)
        assert link.stats.late_decisions == 1
        reused = link.can_execute(first, timeout_s=5)
        assert (reused.verdict, reused.code) == ("DENY", "link_error")
        assert "already used" in reused.reason


def test_error_reply_and_invalid_order_are_denials(gateway: Gateway) -> None:
    gateway.policy = lambda m: ([Error(reason="unknown bot", code="bad_frame",
                                       request_id=m.request_id)]
                                if isinstance(m, OrderRequest) else standard(m))
    with BotLink(gateway.endpoint, bot_id="qe-test") as link:
        link.hello()
        refused = link.can_execute(order("r-err"), timeout_s=5)
        invalid = link.can_execute(order("r-bad", qty=-1.0), timeout_s=5)
    assert (refused.verdict, refused.code) == ("DENY", "link_error")
    assert "unknown bot" in refused.reason
    assert (invalid.verdict, invalid.code) == ("DENY", "invalid_request")
    assert [m.request_id for m in gateway.of_type(OrderRequest)] == ["r-err"]


def test_commands_interleaved_with_a_decision_are_kept(gateway: Gateway) -> None:
    before = Command(command_id="c1", action="pause")
    after = Command(command_id="c2", action="set_risk_multiplier", params={"risk_multiplier": 0.5})
    gateway.policy = lambda m: ([before, allow(m), after] if isinstance(m, OrderRequest)
                                else standard(m))
    with BotLink(gateway.endpoint, bot_id="qe-test") as link:
        link.hello()
        assert link.can_execute(order("r-1"), timeout_s=5).verdict == "ALLOW"
        commands = link.poll_commands(timeout_s=0.0)
        while len(commands) < 2:  # c2 was sent after the decision, so it may still be on its way
            commands += link.poll_commands(timeout_s=5)
        assert commands == [before, after]
        assert link.poll_commands() == []


def test_nothing_listening_fails_closed_at_once() -> None:
    with socket_nobody_listens_on() as endpoint, BotLink(endpoint, bot_id="qe-test") as link:
        started = time.monotonic()
        decision = link.can_execute(order(), timeout_s=5)
        assert time.monotonic() - started < 1
        assert (decision.verdict, decision.code, decision.trading_state) == ("DENY", "link_error",
                                                                             "HALTED")
        with pytest.raises(LinkTimeout):
            link.hello(timeout_s=0.2)
        # A poll may return a fraction of a millisecond before its timeout: the point is
        # that the age counts up while nothing answers, not its last microsecond.
        assert link.kernel_seen_s_ago() >= 0.15 and not link.connected


def pump_until(link: BotLink, predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Call the link the way a bot's loop does, until ``predicate`` holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        link.poll_commands(timeout_s=0.02)


def test_reconnect_says_hello_again_before_kept_fills() -> None:
    first = Gateway()
    second: Gateway | None = None
    try:
        with BotLink(first.endpoint, bot_id="qe-test") as link:
            link.hello()
            assert link.kernel_seen_s_ago() == 0.0
            first.stop()
            pump_until(link, lambda: link.kernel_seen_s_ago() > 0.0)
            assert not link.report_fill(fill("r-kept"))  # kept for the next kernel
            assert link.can_execute(order(), timeout_s=5).code == "link_error"
            second = Gateway(first.endpoint,
                             policy=lambda m: [welcome(0.25)] if isinstance(m, Hello) else [])
            pump_until(link, lambda: link.welcome == welcome(0.25))
            got = second.wait_for(lambda got: len(got) >= 2)
            assert [type(m) for m in got[:2]] == [Hello, Fill]
            assert link.stats.rehellos == 1 and link.kernel_seen_s_ago() == 0.0
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_json_mode_speaks_json_both_ways(gateway: Gateway) -> None:
    with BotLink(gateway.endpoint, bot_id="qe-test", encoding="json") as link:
        assert link.hello() == welcome()
        request = order("r-json")
        assert link.can_execute(request, timeout_s=5) == allow(request)
    assert all(frame.startswith(b"{") for frame in gateway.raw)
    assert gateway.received[1] == request


# --- asyncio --------------------------------------------------------------------


async def test_async_matches_64_in_flight_answered_in_reverse(gateway: Gateway) -> None:
    held: list[OrderRequest] = []

    def policy(message: BotToKernel) -> list[KernelToBot]:
        if not isinstance(message, OrderRequest):
            return standard(message)
        held.append(message)
        if len(held) < 64:
            return []
        return [allow(o) if int(o.request_id) % 2 else deny(o) for o in reversed(held)]

    gateway.policy = policy
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        orders = [order(str(i)) for i in range(64)]
        decisions = await asyncio.gather(*(link.can_execute(o, timeout_s=10) for o in orders))
    for request, decision in zip(orders, decisions, strict=True):
        expected = allow(request) if int(request.request_id) % 2 else deny(request)
        assert decision == expected


async def test_async_timeout_then_late_decision_is_discarded(gateway: Gateway) -> None:
    slow = order("r-slow")
    gateway.policy = lambda m: [] if m == slow else standard(m)
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        decision = await link.can_execute(slow, timeout_s=0.1)
        assert (decision.verdict, decision.code) == ("DENY", "timeout")
        gateway.push(allow(slow))
        await eventually(lambda: link.stats.late_decisions == 1)
        assert (await link.can_execute(order("r-fast"), timeout_s=5)).verdict == "ALLOW"


async def test_async_timeouts_of_different_lengths_each_deny_while_others_are_answered(
        gateway: Gateway) -> None:
    unanswered = {f"quiet-{i}" for i in range(6)}
    gateway.policy = (lambda m: [] if isinstance(m, OrderRequest) and m.request_id in unanswered
                      else standard(m))
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        quiet = [link.can_execute(order(f"quiet-{i}"), timeout_s=0.05 * (1 + i % 3))
                 for i in range(6)]
        answered = [link.can_execute(order(), timeout_s=10) for _ in range(32)]
        decisions = await asyncio.gather(*quiet, *answered)
        for i in range(6):
            gateway.push(allow(order(f"quiet-{i}")))
        await eventually(lambda: link.stats.late_decisions == 6)
    assert [(d.verdict, d.code) for d in decisions[:6]] == [("DENY", "timeout")] * 6
    assert {d.reason for d in decisions[:6]} == {
        f"no decision from the kernel within {s:g} s: denied" for s in (0.05, 0.1, 0.15)}
    assert all(d.verdict == "ALLOW" for d in decisions[6:])


async def test_async_a_cancelled_call_drops_its_late_decision(gateway: Gateway) -> None:
    held = order("r-held")
    gateway.policy = lambda m: [] if m == held else standard(m)
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        waiting = asyncio.create_task(link.can_execute(held, timeout_s=30))
        await asyncio.to_thread(gateway.wait_for, lambda got: held in got)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        gateway.push(allow(held))
        await eventually(lambda: link.stats.late_decisions == 1)
        again = await link.can_execute(held, timeout_s=5)
        assert (again.verdict, again.code) == ("DENY", "link_error")  # its id stays used
        assert (await link.can_execute(order(), timeout_s=5)).verdict == "ALLOW"


async def test_async_an_id_reused_after_its_answer_gets_its_own_full_timeout(
        gateway: Gateway) -> None:
    seen: list[OrderRequest] = []

    def answer_once(message: BotToKernel) -> list[KernelToBot]:
        if isinstance(message, OrderRequest):
            seen.append(message)
            return [allow(message)] if len(seen) == 1 else []
        return standard(message)

    gateway.policy = answer_once
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        assert (await link.can_execute(order("r-again"), timeout_s=0.3)).verdict == "ALLOW"
        await asyncio.sleep(0.2)
        started = time.monotonic()
        second = await link.can_execute(order("r-again"), timeout_s=0.3)
        waited = time.monotonic() - started
    assert (second.verdict, second.code) == ("DENY", "timeout")
    assert waited >= 0.25, "cut short at the deadline of the first call with that id"


def test_async_a_link_used_from_a_second_loop_denies_at_once(gateway: Gateway) -> None:
    link = AsyncBotLink(gateway.endpoint, bot_id="qe-test")

    async def connected_then_asked() -> OrderDecision:
        await link.hello()  # connected: an order sent before may find no peer yet
        return await link.can_execute(order(), timeout_s=5)

    try:
        first = asyncio.run(connected_then_asked())
        second = asyncio.run(link.can_execute(order(), timeout_s=5))
    finally:
        link.close()
    assert first.verdict == "ALLOW"
    assert (second.verdict, second.code) == ("DENY", "link_error")
    assert "another event loop" in second.reason


async def test_async_commands_arrive_while_orders_wait(gateway: Gateway) -> None:
    command = Command(command_id="c1", action="close_all")
    gateway.policy = lambda m: [command, allow(m)] if isinstance(m, OrderRequest) else standard(m)
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        waiting = asyncio.create_task(link.next_command(timeout_s=5))
        decision = await link.can_execute(order(), timeout_s=5)
        assert decision.verdict == "ALLOW" and await waiting == command
        gateway.push(Command(command_id="c2", action="shutdown"))
        async for received in link.commands():
            assert received.command_id == "c2"
            break
        with pytest.raises(LinkTimeout):
            await link.next_command(timeout_s=0.05)
        link.ack("c2", ok=True)
        await asyncio.to_thread(gateway.wait_for,
                                lambda got: any(isinstance(m, CommandAck) for m in got))


async def test_async_close_wakes_waiters_and_denies_in_flight(gateway: Gateway) -> None:
    gateway.policy = lambda m: [] if isinstance(m, OrderRequest) else standard(m)
    link = AsyncBotLink(gateway.endpoint, bot_id="qe-test")
    try:
        await link.hello()
        pending = asyncio.create_task(link.can_execute(order(), timeout_s=30))
        waiting = asyncio.create_task(link.next_command())
        await asyncio.to_thread(gateway.wait_for,
                                lambda got: any(isinstance(m, OrderRequest) for m in got))
    finally:
        link.close()
    assert (await pending).code == "link_error"
    with pytest.raises(LinkError):
        await waiting


async def test_async_reconnect_says_hello_again_by_itself() -> None:
    first = Gateway()
    async with AsyncBotLink(first.endpoint, bot_id="qe-test", encoding="json") as link:
        await link.hello()
        first.stop()
        await eventually(lambda: not link.connected)
        second = Gateway(first.endpoint)
        try:
            await asyncio.to_thread(second.wait_for,
                                    lambda got: any(isinstance(m, Hello) for m in got))
            await eventually(lambda: link.connected and link.stats.rehellos == 1)
            assert (await link.can_execute(order(), timeout_s=5)).verdict == "ALLOW"
        finally:
            second.stop()


class socket_nobody_listens_on:
    """A loopback endpoint that was free a moment ago: connecting gets refused."""

    def __enter__(self) -> str:
        probe: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
        probe.bind("tcp://127.0.0.1:*")
        self.endpoint = str(probe.LAST_ENDPOINT.decode())
        probe.close(linger=0)
        return self.endpoint

    def __exit__(self, *exc: object) -> None:
        return None
