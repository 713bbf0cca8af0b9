"""A link's identity is bound at hello: orders are held to it, and the throttle is per link.

Before, the order-rate bucket was kept per the ``bot_id`` each order *claimed*, so
eight orders on one socket, each naming another ``bot_id``, were all allowed
against a bucket of 5. Now an order whose ``bot_id`` is not its link's hello, or
that comes before any hello, is denied ``identity_mismatch`` (journaled and
answered like every decision) and never reaches the risk engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from bus.codec import encode
from bus.protocol import Error, Hello, OrderDecision, Welcome
from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.integration._risk_link import RISK_YAML, Engines, ready_bot
from tests.support.link import RawBot, order


@pytest.fixture
def engines() -> Engines:
    return Engines()


@pytest.fixture
async def harness(start_kernel: Any, engines: Engines) -> KernelHarness:
    h: KernelHarness = await start_kernel(
        actors=[engines], risk_yaml=RISK_YAML.replace("max_orders_per_second: 1000",
                                                      "max_orders_per_second: 5"))
    return h


@pytest.fixture
async def bot(harness: KernelHarness, engines: Engines) -> AsyncIterator[RawBot]:
    """Said hello as qe-1; its first heartbeat (flat, 10,000 USDT) was taken."""
    raw = await ready_bot(harness, engines)
    yield raw
    raw.close()


async def burst(bot: RawBot, orders: list[Any]) -> dict[str, OrderDecision]:
    """Send every order at once on one socket, then read every decision."""
    for o in orders:
        await bot.sock.send(encode(o))
    out: dict[str, OrderDecision] = {}
    while len(out) < len(orders):
        reply = await bot.recv()
        if isinstance(reply, OrderDecision):
            out[reply.request_id] = reply
    return out


def journaled(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


async def test_orders_naming_other_bot_ids_cannot_buy_a_bucket_each(
    bot: RawBot, harness: KernelHarness,
) -> None:
    names = [f"qe-{i}" for i in range(1, 9)]  # qe-1 is the link's own, seven are not
    decisions = await burst(bot, [order(f"id-{n}", bot_id=n, qty=0.001) for n in names])
    allowed = [n for n in names if decisions[f"id-{n}"].verdict == "ALLOW"]
    assert allowed == ["qe-1"]
    for name in names[1:]:
        denied = decisions[f"id-{name}"]
        assert (denied.verdict, denied.code) == ("DENY", "identity_mismatch")
        assert "said hello as 'qe-1'" in denied.reason and repr(name) in denied.reason
    # Every one journaled (request and decision) like any other decision.
    ids = {f"id-{n}" for n in names}
    assert ids <= {b["request_id"] for b in journaled(harness, "order.decision")}
    assert ids <= {b["request_id"] for b in journaled(harness, "order.request")}


async def test_the_throttle_holds_per_link(bot: RawBot) -> None:
    decisions = await burst(bot, [order(f"r-{i}", qty=0.001) for i in range(8)])
    codes = [decisions[f"r-{i}"].code for i in range(8)]
    assert codes.count("allowed") == 5 and codes.count("rate_limit") == 3, codes


async def test_an_order_before_hello_is_denied_and_journaled(
    harness: KernelHarness, bot: RawBot,
) -> None:
    stranger = RawBot(harness.endpoints["bot_link"])
    try:
        await stranger.send(order("no-hello", qty=0.001))  # names qe-1, which is live
        decision = await stranger.recv()
    finally:
        stranger.close()
    assert isinstance(decision, OrderDecision)
    assert (decision.verdict, decision.code) == ("DENY", "identity_mismatch")
    assert "has not said hello" in decision.reason
    assert [b["verdict"] for b in journaled(harness, "order.decision")
            if b["request_id"] == "no-hello"] == ["DENY"]


async def test_a_newer_connection_with_the_same_bot_id_takes_the_identity_over(
    harness: KernelHarness, bot: RawBot,
) -> None:
    newer = RawBot(harness.endpoints["bot_link"])
    try:
        await newer.send(Hello(bot_id="qe-1", mode="paper", pid=8))
        assert isinstance(await newer.recv(), Welcome)
        await newer.send(order("from-newer", qty=0.001))
        assert (await newer.recv()).code == "allowed"
    finally:
        newer.close()
    await bot.send(order("from-older", qty=0.001))
    old = await bot.recv()
    assert isinstance(old, OrderDecision)
    assert (old.verdict, old.code) == ("DENY", "identity_mismatch")


async def test_a_second_bot_with_another_bot_id_is_refused_at_hello(
    harness: KernelHarness, bot: RawBot,
) -> None:
    """One ledger, one bot: a second bot would have its positions read as the first's."""
    second = RawBot(harness.endpoints["bot_link"])
    try:
        await second.send(Hello(bot_id="by-hand", mode="paper", pid=99))
        refusal = await second.recv()
        await second.send(order("from-second", bot_id="by-hand", qty=0.001))
        denied = await second.recv()
    finally:
        second.close()
    assert isinstance(refusal, Error) and refusal.code == "second_bot"
    assert "'by-hand' (pid 99) refused" in refusal.reason and "'qe-1'" in refusal.reason
    assert "kernel mode off" in refusal.reason
    assert isinstance(denied, OrderDecision) and denied.code == "identity_mismatch"
    await bot.send(order("still-first", qty=0.001))  # the first bot keeps its link
    assert (await bot.recv()).code == "allowed"
    anomalies = journaled(harness, "anomaly")
    assert any(a["kind"] == "second_bot" and "by-hand" in a["detail"] for a in anomalies)
