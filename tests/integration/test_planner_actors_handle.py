"""The verdict adapters and the planner actor, driven through ``handle()`` with a fake clock.

No sockets: each actor gets a context whose emitter records what it publishes,
so every rule (built-in analysis, external precedence and its freshness,
refusals with the field named, debounce-free planning) is checked directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import msgspec
import pytest

from agents.planner.actor import PlannerActor
from agents.verdicts.macro import MacroAdapter
from agents.verdicts.technical import TechnicalAdapter
from agents.verdicts.wildcard import WildCardAdapter
from bus.protocol import Heartbeat, Message, PlanRequest
from kernel.actor import Actor, ActorContext, KernelServices
from kernel.events import AnomalyDetected
from kernel.plan_service import PlanUnavailable
from kernel.registry import actor_factory
from kernel.settings import Settings, load_settings
from planner.messages import (
    CrossAssetSnapshot,
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    TradePlan,
    WildCardVerdict,
)
from planner.parts import Level
from tests.conftest import write_config
from tests.support.planner_market import T0, bars_message, trend_bars

A = TypeVar("A", bound=Actor)
BARS = trend_bars(200)
NOW = BARS[-1].ts + 60
LIVE = """\
    live:
      account_size: 10000
      debounce_s: 0
    """


class Recorder:
    """Stands in for the kernel's emitter: keeps (message, topic) in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[Message, str]] = []

    def emit(self, message: Message, *, topic: str | None = None) -> bytes:
        self.sent.append((message, topic or message.topic))
        return b""

    def on(self, topic: str) -> list[Any]:
        return [m for m, t in self.sent if t == topic]


class World:
    """Settings, a settable clock, the recorder, and the planner service slot."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.now = NOW
        self.recorder = Recorder()
        self.planner: object | None = None

    async def start(self, kind: type[A]) -> A:
        """A ``kind`` built with its config slice of these settings, then started."""
        actor = actor_factory(kind, self.settings)()

        def set_planner(service: object | None) -> None:
            self.planner = service

        services = KernelServices(set_gate=lambda _: None, send_command=lambda *a, **k: 0,
                                  request_stop=lambda _: None, set_planner=set_planner)
        await actor.start(ActorContext(name=actor.name, emitter=cast(Any, self.recorder),
                                       journal=cast(Any, None), clock=lambda: self.now,
                                       services=services))
        return actor


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(load_settings(write_config(tmp_path, planner_yaml=LIVE)))


def anomalies(out: Sequence[Message]) -> list[AnomalyDetected]:
    return [m for m in out if isinstance(m, AnomalyDetected)]


def external(direction: str = "SHORT", ts: float = NOW, **fields: Any) -> TechnicalVerdict:
    return TechnicalVerdict(symbol="BTCUSDT", ts=ts, direction=direction,  # type: ignore[arg-type]
                            confidence=fields.pop("confidence", 70.0),
                            entry_type="short_resistance", **fields)


# --- Technical adapter ----------------------------------------------------------------


async def test_bars_make_a_snapshot_and_a_builtin_technical_verdict(world: World) -> None:
    adapter = await world.start(TechnicalAdapter)
    assert await adapter.handle(bars_message("BTCUSDT", BARS)) == []
    (snapshot,) = world.recorder.on("market.snapshot")
    assert isinstance(snapshot, MarketSnapshot) and snapshot.price == BARS[-1].close
    assert snapshot.atr_30d == 1_800.0 and len(snapshot.bars) == 60
    (verdict,) = world.recorder.on("verdict.current.technical")
    assert (verdict.direction, verdict.source, verdict.ts) == ("LONG", "builtin", NOW)


async def test_with_a_previous_close_the_snapshot_keeps_the_whole_session(
    world: World,
) -> None:
    adapter = await world.start(TechnicalAdapter)
    session = trend_bars(120, start=230.0, t0=T0 - 30 * 60)  # from 9:30 New York
    message = msgspec.structs.replace(bars_message("AAPL", session, asset_class="stock",
                                                   atr_30d=4.0), prev_close=226.0)
    await adapter.handle(message)
    (snapshot,) = world.recorder.on("market.snapshot")
    assert len(snapshot.bars) == 120 and snapshot.bars[0].ts == session[0].ts


async def test_bars_without_an_atr_are_analysed_and_the_gap_is_said_once(world: World) -> None:
    adapter = await world.start(TechnicalAdapter)
    first = await adapter.handle(bars_message("BTCUSDT", BARS[:150], atr_30d=None))
    again = await adapter.handle(bars_message("BTCUSDT", BARS[150:], atr_30d=None))
    assert [a.kind for a in anomalies(first)] == ["missing_atr"] and again == []
    assert not world.recorder.on("market.snapshot")
    assert world.recorder.on("verdict.current.technical")


async def test_bars_that_contradict_themselves_are_refused_naming_the_bar(world: World) -> None:
    adapter = await world.start(TechnicalAdapter)
    message = bars_message("BTCUSDT", BARS[:3])
    bad = msgspec.structs.replace(message.bars[1], high=message.bars[1].low * 0.99)
    out = await adapter.handle(msgspec.structs.replace(message, bars=[message.bars[0], bad]))
    (anomaly,) = anomalies(out)
    assert anomaly.kind == "invalid_bars" and "bars[1]: high" in anomaly.detail
    assert world.recorder.sent == []


async def test_a_fresh_external_verdict_wins_until_it_ages_out(world: World) -> None:
    adapter = await world.start(TechnicalAdapter)
    await adapter.handle(bars_message("BTCUSDT", BARS[:-1]))
    assert await adapter.handle(external()) == []
    assert world.recorder.on("verdict.current.technical")[-1].direction == "SHORT"
    assert world.recorder.on("verdict.current.technical")[-1].source == "external"
    world.now += 60
    await adapter.handle(bars_message("BTCUSDT", BARS[-1:]))  # a new bar: still external
    assert world.recorder.on("verdict.current.technical")[-1].direction == "SHORT"
    world.now = NOW + 301  # past live.external_max_age_s.technical (300 s)
    adapter.sweep()
    current = world.recorder.on("verdict.current.technical")[-1]
    assert (current.direction, current.source) == ("LONG", "builtin")


async def test_external_verdicts_keep_their_own_source_name(world: World) -> None:
    adapter = await world.start(TechnicalAdapter)
    await adapter.handle(external(source="chart-agent"))
    assert world.recorder.on("verdict.current.technical")[-1].source == "chart-agent"


@pytest.mark.parametrize(("verdict", "field"), [
    (external(confidence=120.0), "technical.confidence"),
    (external(supports=[Level(price=float("nan"))]), "technical.supports[0].price"),
    (external(ts=NOW + 60), "technical.ts"),
])
async def test_invalid_external_verdicts_are_refused_naming_the_field(
    world: World, verdict: TechnicalVerdict, field: str
) -> None:
    adapter = await world.start(TechnicalAdapter)
    (anomaly,) = anomalies(await adapter.handle(verdict))
    assert anomaly.kind == "invalid_verdict" and field in anomaly.detail
    assert not world.recorder.on("verdict.current.technical")


async def test_a_stale_external_verdict_is_ignored_with_a_note(world: World) -> None:
    adapter = await world.start(TechnicalAdapter)
    (anomaly,) = anomalies(await adapter.handle(external(ts=NOW - 3600)))
    assert anomaly.kind == "stale_verdict" and "3600 s old" in anomaly.detail


async def test_an_undecodable_verdict_frame_becomes_an_anomaly_naming_the_field(
    world: World,
) -> None:
    adapter = await world.start(TechnicalAdapter)
    out = await adapter.rejected("verdict.technical", "agent-x",
                                 "Expected `float` <= 100.0 - at `$.confidence`")
    (anomaly,) = anomalies(out)
    assert "technical.confidence: Expected `float` <= 100.0" in anomaly.detail
    assert "agent-x" in anomaly.detail
    assert await adapter.rejected("market.bars", "x", "bad") == ()


# --- Macro and Wild Card adapters -----------------------------------------------------


def snapshot(asset_class: Any = "crypto") -> MarketSnapshot:
    from planner.snapshot import make_snapshot

    return make_snapshot("BTCUSDT", BARS, asset_class=asset_class, atr_30d=1_800.0)


async def test_macro_without_data_is_neutral_for_each_asset_class(world: World) -> None:
    adapter = await world.start(MacroAdapter)
    await adapter.handle(snapshot())
    (verdict,) = world.recorder.on("verdict.current.macro")
    assert (verdict.asset_class, verdict.direction, verdict.confidence) == ("crypto", "NEUTRAL",
                                                                            0.0)
    await adapter.handle(snapshot())
    assert len(world.recorder.on("verdict.current.macro")) == 1  # unchanged: not republished


async def test_macro_reads_cross_asset_data_and_prefers_a_specific_external_one(
    world: World,
) -> None:
    adapter = await world.start(MacroAdapter)
    await adapter.handle(snapshot())
    closes = [b.close for b in BARS]
    await adapter.handle(CrossAssetSnapshot(ts=NOW, btc_closes=closes, index_closes=closes))
    assert world.recorder.on("verdict.current.macro")[-1].regime == "risk_on"
    general = MacroVerdict(ts=NOW, regime="risk_off", direction="SHORT", confidence=60.0)
    await adapter.handle(general)
    latest = world.recorder.on("verdict.current.macro")[-1]
    assert (latest.regime, latest.asset_class, latest.source) == ("risk_off", "crypto",
                                                                  "external")
    specific = msgspec.structs.replace(general, regime="neutral", direction="NEUTRAL",
                                       asset_class="crypto", source="crypto-desk")
    await adapter.handle(specific)
    assert world.recorder.on("verdict.current.macro")[-1].source == "crypto-desk"


async def test_macro_ignores_cross_asset_data_its_publisher_marked_stale(world: World) -> None:
    adapter = await world.start(MacroAdapter)
    await adapter.handle(snapshot())
    closes = [b.close for b in BARS]
    await adapter.handle(CrossAssetSnapshot(ts=NOW, btc_closes=closes, index_closes=closes,
                                            source="ccxt:binance", as_of=NOW - 9 * 86_400,
                                            stale=True))
    (verdict,) = world.recorder.on("verdict.current.macro")
    assert (verdict.direction, verdict.confidence) == ("NEUTRAL", 0.0)  # as with no data
    await adapter.handle(CrossAssetSnapshot(ts=NOW, btc_closes=closes, index_closes=closes,
                                            source="ccxt:binance", as_of=NOW - 3600))
    assert world.recorder.on("verdict.current.macro")[-1].regime == "risk_on"


async def test_wildcard_scans_each_snapshot_with_the_calendar(world: World) -> None:
    adapter = await world.start(WildCardAdapter)
    await adapter.handle(snapshot())
    (verdict,) = world.recorder.on("verdict.current.wildcard")
    assert isinstance(verdict, WildCardVerdict) and verdict.source == "builtin"
    assert verdict.confidence == 80.0  # config/events.yaml covers the SCALP horizon
    await adapter.handle(WildCardVerdict(symbol="BTCUSDT", ts=NOW, confidence=30.0,
                                         source="news-desk"))
    assert world.recorder.on("verdict.current.wildcard")[-1].source == "news-desk"


# --- Planner actor ----------------------------------------------------------------------


async def test_the_planner_plans_from_a_snapshot_alone_and_serves_the_link(
    world: World,
) -> None:
    planner = await world.start(PlannerActor)
    assert world.planner is planner
    (plan,) = await planner.handle(snapshot())
    assert isinstance(plan, TradePlan) and plan.symbol == "BTCUSDT"
    assert plan.synthesis is not None and plan.synthesis.technical.direction == "LONG"
    assert plan.position is None or plan.position.max_risk <= 100.0  # 1 % of 10,000
    served = planner.plan(
        PlanRequest(request_id="p-1", symbol="BTCUSDT", style="DAY"), NOW)
    assert (served.request_id, served.style) == ("p-1", "DAY")
    with pytest.raises(PlanUnavailable, match="no market data for ETHUSDT"):
        planner.plan(PlanRequest(request_id="p-2", symbol="ETHUSDT"), NOW)
    await planner.stop()
    assert world.planner is None


async def test_the_planner_uses_the_current_verdicts_it_is_given(world: World) -> None:
    planner = await world.start(PlannerActor)
    await planner.handle(snapshot())
    (plan,) = await planner.handle(external("SHORT", confidence=75.0))
    assert isinstance(plan, TradePlan) and plan.synthesis is not None
    assert plan.synthesis.technical.direction == "SHORT"
    assert plan.direction == "SHORT"


async def test_without_an_account_size_the_planner_uses_the_bots_equity(
    tmp_path: Path,
) -> None:
    world = World(load_settings(write_config(tmp_path, planner_yaml="live: {debounce_s: 0}")))
    planner = await world.start(PlannerActor)
    out = await planner.handle(snapshot())
    assert [a.kind for a in anomalies(out)] == ["plan_unavailable"]
    assert "no account size" in anomalies(out)[0].detail
    assert anomalies(await planner.handle(snapshot())) == []  # said once
    await planner.handle(Heartbeat(bot_id="qe", seq=1, ts=NOW, uptime_s=1.0, equity=5_000.0,
                                   realized_pnl=0.0, unrealized_pnl=0.0))
    (plan,) = await planner.handle(snapshot())
    assert isinstance(plan, TradePlan)
    assert plan.position is None or plan.position.max_risk <= 50.0


async def test_a_stale_snapshot_is_no_trade_with_the_reason(world: World) -> None:
    planner = await world.start(PlannerActor)
    world.now = NOW + 3600
    (plan,) = await planner.handle(snapshot())
    assert isinstance(plan, TradePlan) and plan.decision == "NO_TRADE"
    assert any("s old" in reason for reason in plan.no_trade_reasons)


async def test_only_followed_symbols_are_planned(tmp_path: Path) -> None:
    world = World(load_settings(write_config(
        tmp_path, planner_yaml="live: {debounce_s: 0, account_size: 1000, symbols: [ETHUSDT]}")))
    planner = await world.start(PlannerActor)
    assert await planner.handle(snapshot()) == ()
    assert T0 < NOW
