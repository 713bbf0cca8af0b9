"""In a fleet a link belongs to the bot that said hello on it, and only configured bots
may say hello (paths.yaml ``bots:``; docs/fleet.md, "Identity").

Several configured bots are connected at once; a hello from an id not in the config
is refused with ``unknown_bot``; a heartbeat or fill that claims another bot's id is
refused with ``identity_mismatch`` and never reaches the bus (it would move that
bot's ledger); an order that claims another id is denied, journaled, never decided.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import pytest

from bus.protocol import Error, Fill, Heartbeat, Hello, OrderDecision, Welcome
from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.support.link import RawBot, order

FLEET = """\
- {id: qe-1, account: main}
- {id: qe-2, account: main}
- {id: far-3, account: other}
"""


@pytest.fixture
async def harness(start_kernel: Any) -> KernelHarness:
    h: KernelHarness = await start_kernel(bots=FLEET)
    return h


def journaled(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


def beat(bot_id: str, seq: int = 1) -> Heartbeat:
    now = time.time()
    return Heartbeat(bot_id=bot_id, seq=seq, ts=now, uptime_s=1.0, equity=10_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, positions=[],
                     marks={"BTCUSDT": 50_000.0}, last_tick_ts=now)


async def hello(bot: RawBot, bot_id: str) -> Any:
    await bot.send(Hello(bot_id=bot_id, mode="paper", pid=4242))
    return await bot.recv()


async def test_three_configured_bots_are_connected_at_once(harness: KernelHarness) -> None:
    bots = {name: RawBot(harness.endpoints["bot_link"]) for name in ("qe-1", "qe-2", "far-3")}
    try:
        replies = await asyncio.gather(*(hello(b, n) for n, b in bots.items()))
        assert all(isinstance(r, Welcome) for r in replies), replies
        # a second bot no longer pushes the first one out: each is still heard as itself
        for name, bot in bots.items():
            await bot.send(beat(name))
        await _until(lambda: {h["bot_id"] for h in journaled(harness, "bot.heartbeat")}
                     == set(bots))
    finally:
        for bot in bots.values():
            bot.close()


async def test_a_hello_from_an_id_not_in_the_config_is_refused(harness: KernelHarness) -> None:
    stranger = RawBot(harness.endpoints["bot_link"])
    try:
        refusal = await hello(stranger, "qe-9")
        await stranger.send(order("from-stranger", bot_id="qe-9"))
        denied = await stranger.recv()
    finally:
        stranger.close()
    assert isinstance(refusal, Error) and refusal.code == "unknown_bot"
    assert "qe-9" in refusal.reason and "qe-1, qe-2, far-3" not in refusal.reason
    assert "far-3, qe-1, qe-2" in refusal.reason and "Fix:" in refusal.reason
    assert isinstance(denied, OrderDecision) and denied.code == "identity_mismatch"
    assert any(a["kind"] == "unknown_bot" and "qe-9" in a["detail"]
               for a in journaled(harness, "anomaly"))
    assert "qe-9" not in {h["bot_id"] for h in journaled(harness, "bot.hello")}


async def test_frames_claiming_another_bots_id_are_refused(harness: KernelHarness) -> None:
    one, two = RawBot(harness.endpoints["bot_link"]), RawBot(harness.endpoints["bot_link"])
    try:
        assert isinstance(await hello(one, "qe-1"), Welcome)
        assert isinstance(await hello(two, "qe-2"), Welcome)
        await one.send(beat("qe-2", seq=77))  # qe-1's link speaks for qe-2
        refused_beat = await one.recv()
        await one.send(Fill(request_id="x", symbol="BTCUSDT", side="buy", qty=1.0,
                            price=50_000.0, ts=time.time(), bot_id="qe-2"))
        refused_fill = await one.recv()
        await one.send(order("spoof", bot_id="qe-2"))
        denied = await one.recv()
        await one.send(beat("qe-1", seq=78))  # its own id still passes
        await _until(lambda: any(h["seq"] == 78 for h in journaled(harness, "bot.heartbeat")))
    finally:
        one.close()
        two.close()
    for refused in (refused_beat, refused_fill):
        assert isinstance(refused, Error) and refused.code == "identity_mismatch"
        assert "'qe-2'" in refused.reason and "said hello as 'qe-1'" in refused.reason
    assert isinstance(denied, OrderDecision)
    assert (denied.verdict, denied.code) == ("DENY", "identity_mismatch")
    assert not any(h["seq"] == 77 for h in journaled(harness, "bot.heartbeat"))
    assert not any(f["request_id"] == "x" for f in journaled(harness, "order.fill"))
    assert "spoof" in {d["request_id"] for d in journaled(harness, "order.decision")}


async def test_a_heartbeat_before_hello_is_refused_in_a_fleet(harness: KernelHarness) -> None:
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(beat("qe-1", seq=5))
        refused = await bot.recv()
    finally:
        bot.close()
    assert isinstance(refused, Error) and refused.code == "identity_mismatch"
    assert "has not said hello" in refused.reason


async def _until(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
