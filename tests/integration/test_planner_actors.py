"""The planner actors in a real kernel: bars over the link in, plans on the bus and in the journal.

Everything travels for real: a raw DEALER plays the bot (bars, plan requests),
a remote PUB plays an external agent on the bus, and the journal is read back
from its SQLite file.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import zmq
import zmq.asyncio

from agents.planner.actor import PlannerActor
from agents.verdicts.macro import MacroAdapter
from agents.verdicts.technical import TechnicalAdapter
from agents.verdicts.wildcard import WildCardAdapter
from bus.codec import encode, encode_header
from bus.protocol import Error, PlanRequest, TradePlanReply
from kernel.journal import read_journal
from planner.messages import TechnicalVerdict, TradePlan
from tests.conftest import KernelHarness
from tests.support.link import RawBot
from tests.support.planner_market import bars_message, trend_bars

ACTORS = [PlannerActor, MacroAdapter, WildCardAdapter, TechnicalAdapter]
PLANNER_YAML = """\
    live:
      account_size: 10000
      debounce_s: 0.05
    """
_plan = msgspec.msgpack.Decoder(TradePlan)


def bodies(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows if r.topic == topic]


async def wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def start(start_kernel: Any, actors: Any = ACTORS) -> tuple[KernelHarness, RawBot]:
    harness: KernelHarness = await start_kernel(actors=actors, planner_yaml=PLANNER_YAML)
    return harness, RawBot(harness.endpoints["bot_link"])


def recent_bars(n: int = 200, drift: float = 0.0004) -> Any:
    return trend_bars(n, drift=drift, t0=time.time() - 60 * n)


async def test_bars_from_the_bot_become_plans_on_the_bus_and_in_the_journal(
    start_kernel: Any,
) -> None:
    harness, bot = await start(start_kernel)
    tap = zmq.asyncio.Context.instance().socket(zmq.SUB)
    tap.linger = 0
    tap.subscribe(b"plan.trade")
    tap.connect(harness.endpoints["bus_subscribe"])
    try:
        await asyncio.sleep(0.2)  # let the tap's subscription reach the proxy
        await bot.send(bars_message("BTCUSDT", recent_bars()))
        frames = await asyncio.wait_for(tap.recv_multipart(), 10)
    finally:
        tap.close()
        bot.close()
    plan = _plan.decode(frames[1])
    assert frames[0] == b"plan.trade" and plan.symbol == "BTCUSDT" and plan.style == "SCALP"
    assert plan.synthesis is not None and plan.synthesis.technical.direction == "LONG"
    await wait_for(lambda: bool(bodies(harness, "plan.trade")))
    assert bodies(harness, "market.bars")[0]["bot_id"] == "qe-1"
    assert bodies(harness, "market.snapshot")[0]["symbol"] == "BTCUSDT"
    for topic in ("verdict.current.technical", "verdict.current.macro",
                  "verdict.current.wildcard"):
        assert bodies(harness, topic)[0]["source"] == "builtin", topic


async def test_an_external_verdict_on_the_bus_takes_precedence(start_kernel: Any) -> None:
    harness, bot = await start(start_kernel)
    pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
    pub.linger = 0
    pub.connect(harness.endpoints["bus_publish"])
    try:
        await bot.send(bars_message("BTCUSDT", recent_bars()))
        await wait_for(lambda: bool(bodies(harness, "plan.trade")))
        verdict = TechnicalVerdict(symbol="BTCUSDT", ts=time.time(), direction="SHORT",
                                   confidence=75.0, entry_type="rejection",
                                   source="chart-agent")

        def used() -> bool:
            return any(b["source"] == "chart-agent"
                       for b in bodies(harness, "verdict.current.technical"))

        for _ in range(200):  # until the remote publisher's connection is up
            pub.send_multipart([b"verdict.technical", encode(verdict),
                                encode_header("chart-agent")])
            await asyncio.sleep(0.02)
            if used():
                break
        await wait_for(lambda: any(p["synthesis"]["technical"]["direction"] == "SHORT"
                                   for p in bodies(harness, "plan.trade")))
    finally:
        pub.close()
        bot.close()
    assert bodies(harness, "verdict.technical")[0]["source"] == "chart-agent"


async def test_an_invalid_external_verdict_is_journaled_as_an_anomaly(start_kernel: Any) -> None:
    harness, bot = await start(start_kernel)
    pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
    pub.linger = 0
    pub.connect(harness.endpoints["bus_publish"])
    bad = msgspec.msgpack.encode({"type": "technical_verdict", "symbol": "BTCUSDT",
                                  "ts": time.time(), "direction": "SHORT", "confidence": 150})

    def refused() -> list[dict[str, Any]]:
        return [b for b in bodies(harness, "anomaly") if b["kind"] == "invalid_verdict"]

    try:
        for _ in range(200):
            pub.send_multipart([b"verdict.technical", bad, encode_header("broken-agent")])
            await asyncio.sleep(0.02)
            if refused():
                break
        await wait_for(lambda: bool(refused()))
    finally:
        pub.close()
        bot.close()
    detail = refused()[0]["detail"]
    assert "technical.confidence" in detail and "broken-agent" in detail
    assert not bodies(harness, "verdict.current.technical")


async def test_a_bot_asks_for_a_plan_over_the_link(start_kernel: Any) -> None:
    harness, bot = await start(start_kernel)
    try:
        await bot.send(bars_message("BTCUSDT", recent_bars(drift=-0.0004)))
        await wait_for(lambda: bool(bodies(harness, "plan.trade")))
        await bot.send(PlanRequest(request_id="ask-1", symbol="BTCUSDT", style="DAY",
                                   account_size=20_000.0))
        reply = await bot.recv()
        await bot.send_raw(b'{"type":"plan_request","request_id":"ask-2","symbol":"BTCUSDT"}')
        as_json = await bot.recv_json()
        await bot.send(PlanRequest(request_id="ask-3", symbol="DOGEUSDT"))
        missing = await bot.recv()
    finally:
        bot.close()
    assert isinstance(reply, TradePlanReply)
    assert (reply.request_id, reply.symbol, reply.style) == ("ask-1", "BTCUSDT", "DAY")
    assert reply.decision == "TRADE" and reply.direction == "SHORT"
    assert reply.position is not None and reply.position["max_risk"] <= 200.0
    assert as_json["type"] == "trade_plan" and as_json["request_id"] == "ask-2"
    assert as_json["style"] == "SCALP"
    assert isinstance(missing, Error) and missing.request_id == "ask-3"
    assert missing.code == "no_market_data" and "DOGEUSDT" in missing.reason
    await wait_for(lambda: {b["request_id"] for b in bodies(harness, "plan.request")}
                   == {"ask-1", "ask-2", "ask-3"})
    await wait_for(lambda: {"ask-1", "ask-2"}
                   <= {b["request_id"] for b in bodies(harness, "plan.trade")})


async def test_without_a_planner_a_plan_request_gets_a_clear_error(start_kernel: Any) -> None:
    _harness, bot = await start(start_kernel, actors=[])
    try:
        await bot.send(PlanRequest(request_id="ask-1", symbol="BTCUSDT"))
        reply = await bot.recv()
    finally:
        bot.close()
    assert isinstance(reply, Error) and reply.request_id == "ask-1"
    assert reply.code == "planner_unavailable" and "planner unavailable" in reply.reason


async def test_a_verdict_from_the_bot_over_the_link_takes_precedence(start_kernel: Any) -> None:
    harness, bot = await start(start_kernel)
    try:
        await bot.send(bars_message("BTCUSDT", recent_bars()))
        await wait_for(lambda: bool(bodies(harness, "plan.trade")))
        verdict = TechnicalVerdict(symbol="BTCUSDT", ts=time.time(), direction="SHORT",
                                   confidence=75.0, entry_type="rejection",
                                   source="quantumedge-ta")
        await bot.send(verdict)
        await wait_for(lambda: any(b["source"] == "quantumedge-ta"
                                   for b in bodies(harness, "verdict.current.technical")))
        await wait_for(lambda: any(p["synthesis"]["technical"]["direction"] == "SHORT"
                                   for p in bodies(harness, "plan.trade")))
        bad = msgspec.to_builtins(verdict) | {"confidence": 150}
        await bot.send_raw(msgspec.json.encode(bad))
        reply = await bot.recv_json()
        assert reply["type"] == "error" and reply["code"] == "invalid_verdict"
        assert "$.confidence" in reply["reason"]
    finally:
        bot.close()
