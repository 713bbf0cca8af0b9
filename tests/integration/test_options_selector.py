"""The options selector actor: through ``handle()`` with a fake clock, then in a real kernel.

The market is SPY at $690 with daily expiries counted from the day the test
runs (the live actor reads the kernel's clock, so fixed-date fixtures would
have expired): a chain, a snapshot and a stock plan go in, and the same plan
comes back with its options block, or an anomaly says once why it cannot.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest
import zmq
import zmq.asyncio

from agents.planner.options_selector import OptionsSelector
from bus.codec import encode, encode_header
from bus.protocol import Message
from kernel.actor import ActorContext, KernelServices
from kernel.events import AnomalyDetected
from kernel.registry import options_slice
from kernel.settings import load_settings
from planner.contracts import OptionChain
from planner.contracts_polygon import decode_chain
from planner.messages import MarketSnapshot, TradePlan
from planner.sessions import to_eastern
from tests.conftest import KernelHarness, write_config
from tests.fixtures.options.make_chain import make_results, strikes_around
from tests.unit.planner.options_factories import spy_market, spy_plan

_plan = msgspec.msgpack.Decoder(TradePlan)


def live_chain(now: float, *, age_s: float = 5.0) -> OptionChain:
    """SPY calls and puts expiring on each of the next 12 days, quoted ``age_s`` ago."""
    today = to_eastern(now).date()
    expiries = [today + timedelta(days=d) for d in range(12)]
    results = make_results("SPY", 690.0, expiries, strikes_around(690.0, 2.5, 6), seed=9,
                           liquidity=8000.0, today=today)
    return msgspec.structs.replace(decode_chain({"results": results}), ts=now - age_s)


def market(now: float) -> MarketSnapshot:
    return msgspec.structs.replace(spy_market(), ts=now)


class Context:
    """A started selector whose clock the test sets."""

    def __init__(self, tmp_path: Path, options_yaml: str | None = None) -> None:
        config = write_config(tmp_path)
        if options_yaml is not None:
            (config / "options.yaml").write_text(options_yaml, encoding="utf-8")
        self.settings = load_settings(config)
        self.now = time.time()
        self.actor = OptionsSelector(config=options_slice(self.settings))

    async def start(self) -> OptionsSelector:
        services = KernelServices(set_gate=lambda _: None, send_command=lambda *a, **k: 0,
                                  request_stop=lambda _: None)
        await self.actor.start(ActorContext(
            name=self.actor.name, emitter=cast(Any, None), journal=cast(Any, None),
            clock=lambda: self.now, services=services))
        return self.actor

    async def feed(self, *messages: Message) -> list[Message]:
        out: list[Message] = []
        for message in messages:
            out.extend(await self.actor.handle(message))
        return out


async def test_a_plan_for_an_underlying_with_a_chain_comes_back_with_its_contract(
    tmp_path: Path,
) -> None:
    ctx = Context(tmp_path)
    await ctx.start()
    chain = live_chain(ctx.now)
    stock = spy_plan("LONG", "DAY")
    (out,) = await ctx.feed(chain, market(ctx.now), stock)
    assert isinstance(out, TradePlan) and out.decision == "TRADE"
    assert out.options is not None and out.options.status == "SELECTED"
    assert out.options.symbol in {c.symbol for c in chain.contracts}
    assert out.position is not None and out.position.unit == "contracts"
    assert await ctx.feed(out) == []  # its own answer is not answered again


async def test_plans_it_does_not_follow_or_cannot_express_are_left_alone(tmp_path: Path) -> None:
    ctx = Context(tmp_path)
    await ctx.start()
    stock = spy_plan()
    assert await ctx.feed(market(ctx.now), stock) == []  # no chain: not followed
    no_trade = msgspec.structs.replace(stock, decision="NO_TRADE", direction=None, entry=None,
                                       position=None, stop_loss=None, targets=[],
                                       no_trade_reasons=["x"])
    assert await ctx.feed(live_chain(ctx.now), no_trade) == []


async def test_a_stale_chain_is_not_used_and_said_once(tmp_path: Path) -> None:
    ctx = Context(tmp_path)
    await ctx.start()
    await ctx.feed(live_chain(ctx.now, age_s=600), market(ctx.now))
    first = await ctx.feed(spy_plan())
    assert [type(m) for m in first] == [AnomalyDetected]
    anomaly = cast(AnomalyDetected, first[0])
    assert anomaly.kind == "options_unavailable"
    assert anomaly.detail == ("The option chain for SPY is 600 s old (limit 120 s): its plan is "
                              "not expressed in options")
    assert await ctx.feed(spy_plan()) == []  # said once
    await ctx.feed(live_chain(ctx.now))
    (fresh,) = await ctx.feed(spy_plan())
    assert isinstance(fresh, TradePlan) and fresh.options is not None


async def test_a_followed_symbol_without_chain_or_snapshot_is_reported(tmp_path: Path) -> None:
    ctx = Context(tmp_path, options_yaml="live: {symbols: [spy]}\n")
    await ctx.start()
    (no_chain,) = await ctx.feed(spy_plan())
    assert isinstance(no_chain, AnomalyDetected)
    assert no_chain.detail.startswith("No option chain for SPY yet")
    (no_snapshot,) = await ctx.feed(live_chain(ctx.now), spy_plan())
    assert isinstance(no_snapshot, AnomalyDetected)
    assert no_snapshot.detail.startswith("No market snapshot for SPY")


@pytest.mark.timeout(30)
async def test_in_a_kernel_a_chain_and_a_plan_on_the_bus_make_an_options_plan(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel(actors=[OptionsSelector])
    context = zmq.asyncio.Context.instance()
    pub, tap = context.socket(zmq.PUB), context.socket(zmq.SUB)
    pub.linger = tap.linger = 0
    tap.subscribe(b"plan.trade")
    pub.connect(harness.endpoints["bus_publish"])
    tap.connect(harness.endpoints["bus_subscribe"])
    now, stock = time.time(), spy_plan("SHORT", "SWING")
    chain = live_chain(now)
    header = encode_header("options-feed")
    answers: list[TradePlan] = []
    try:
        for _ in range(200):  # resend until the subscriptions are live end to end
            for message in (chain, market(now), stock):
                await pub.send_multipart([message.topic.encode(), encode(message), header])
            while await tap.poll(50):  # the stock plan itself comes by too
                answer = _plan.decode((await tap.recv_multipart())[1])
                if answer.options is not None:
                    answers.append(answer)
            if answers:
                break
        else:
            raise AssertionError("no options plan on plan.trade")
    finally:
        pub.close()
        tap.close()
    plan = answers[0]
    assert plan.options is not None
    assert plan.options.status == "SELECTED" and plan.options.contract_type == "put"
    assert plan.options.symbol in {c.symbol for c in chain.contracts}
    low, high = harness.kernel.settings.options.dte.SWING
    assert plan.options.dte is not None and low <= plan.options.dte <= high
    await asyncio.wait_for(harness.stop(), 10)
