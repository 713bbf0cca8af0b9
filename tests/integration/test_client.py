"""The bot library against a real ROUTER on loopback that plays the gateway.

The stand-in gateway runs in a thread with its own socket, so the client's
waiting (blocking poll, or the event loop's reader) is exercised for real.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bus.client import AsyncBotLink, BotLink, LinkError, LinkTimeout, new_request_id
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
)
from tests.support.stand_in_gateway import (
    Gateway,
    allow,
    deny,
    socket_nobody_listens_on,
    standard,
    welcome,
)


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


async def test_async_an_id_reused_before_the_first_call_resumed_keeps_its_own_wait(
        gateway: Gateway) -> None:
    """A second call reuses an answered id while the first call has not yet resumed (it
    was woken in the same turn): the first call's cleanup must not take the second's
    place in waiting, or the second's decision is dropped as late and no timer ends it."""
    seen: list[OrderRequest] = []

    def answer_the_first(message: BotToKernel) -> list[KernelToBot]:
        if isinstance(message, OrderRequest):
            seen.append(message)
            return [allow(message)] if len(seen) == 1 else []  # the second: pushed below
        return standard(message)

    gateway.policy = answer_the_first
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as link:
        await link.hello()
        received = link.stats.received
        first = asyncio.create_task(link.can_execute(order("r-twice"), timeout_s=30))

        async def reuse_once_answered() -> OrderDecision:
            while link.stats.received == received:  # each turn, ahead of the first's resume
                await asyncio.sleep(0)
            return await link.can_execute(order("r-twice"), timeout_s=3)

        second = asyncio.create_task(reuse_once_answered())
        assert (await first).verdict == "ALLOW"
        await asyncio.to_thread(gateway.wait_for, lambda got: len(seen) == 2)
        gateway.push(allow(order("r-twice")))
        done, _ = await asyncio.wait({first, second}, timeout=15)
        assert done == {first, second}, "the second call never ended: no decision, no timeout"
        assert ((await second).verdict, (await second).code) == ("ALLOW", "ok")
        assert link.stats.late_decisions == 0


def test_async_a_link_used_from_a_second_loop_denies_at_once(gateway: Gateway) -> None:
    link = AsyncBotLink(gateway.endpoint, bot_id="qe-test")

    async def first_use() -> OrderDecision:
        await link.hello()  # connected: else the order may meet no connection yet (immediate)
        return await link.can_execute(order(), timeout_s=5)

    try:
        first = asyncio.run(first_use())
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


@pytest.mark.parametrize("timeout_s", [None, "1", True])
async def test_a_timeout_that_is_no_number_raises_before_the_order_is_sent(
    gateway: Gateway, timeout_s: Any,
) -> None:
    """Otherwise the order went out and the call failed after it: the kernel decided an
    order nobody waited for, and its id stayed taken."""
    with BotLink(gateway.endpoint, bot_id="qe-test") as link:
        link.hello()
        with pytest.raises(TypeError, match="timeout_s must be a number of seconds"):
            link.can_execute(order("r-sync"), timeout_s=timeout_s)
        assert link.can_execute(order("r-sync"), timeout_s=5).verdict == "ALLOW"
    async with AsyncBotLink(gateway.endpoint, bot_id="qe-test") as alink:
        await alink.hello()
        with pytest.raises(TypeError, match="timeout_s must be a number of seconds"):
            await alink.can_execute(order("r-async"), timeout_s=timeout_s)
        assert (await alink.can_execute(order("r-async"), timeout_s=5)).verdict == "ALLOW"
    sent = [o.request_id for o in gateway.of_type(OrderRequest)]
    assert sent == ["r-sync", "r-async"]  # each once: the failed calls sent nothing
