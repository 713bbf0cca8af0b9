"""The auditor actor over a real journal file: anomalies from ``handle()``, the audit at
the day rollover (stored, published, written), catch-up, retention, and failures that
become anomalies instead of crashes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agents.audit.actor import Auditor
from agents.audit.messages import DailyAuditCompleted
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, Message, OrderDecision, OrderRequest
from kernel.actor import ActorContext, KernelServices
from kernel.console.chain_verify import verify_journal
from kernel.emitter import Emitter, tag_of
from kernel.events import AnomalyDetected, KernelStateChanged
from kernel.journal import Journal, JournalEntry, read_journal
from kernel.registry import audit_slice
from kernel.settings import load_settings
from tests.conftest import write_config

MAY1 = datetime(2024, 5, 1, tzinfo=UTC).timestamp()
MAY2 = MAY1 + 86_400


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Wire:
    """Stands in for the bus publisher: remembers topics sent."""

    def __init__(self) -> None:
        self.topics: list[str] = []
        self.watch: Path | None = None
        self.seen_with_file: list[bool] = []
        """For each ``audit.daily`` sent: did ``watch`` exist at that moment?"""

    def send_raw(self, topic: str, payload: bytes, *, journaled: bool = False,
                 header: bytes | None = None, bot_id: str = "",
                 message: Message | None = None) -> None:
        self.topics.append(topic)
        if topic == "audit.daily" and self.watch is not None:
            self.seen_with_file.append(self.watch.exists())


class World:
    def __init__(self, root: Path, journal: Journal, clock: Clock, wire: Wire,
                 actor: Auditor) -> None:
        self.root, self.journal, self.clock, self.wire, self.actor = (
            root, journal, clock, wire, actor)

    async def write(self, message: Message, ts: float, source: str = "gateway") -> None:
        await self.journal.append_durable(JournalEntry(ts, message.topic, source,
                                                       tag_of(message), encode(message)))

    def bodies(self, topic: str) -> list[Any]:
        rows = read_journal(self.journal.path, topic_prefix=topic, limit=10_000)
        return [msgspec.msgpack.decode(r.payload) for r in rows]


async def make_world(root: Path, *, audit_yaml: str | None = None, now: float = MAY2 + 5,
                     reports: str = "reports") -> World:
    config = write_config(root, audit_yaml=audit_yaml)
    paths = (config / "paths.yaml").read_text().replace("reports_dir: reports",
                                                        f"reports_dir: {reports}")
    (config / "paths.yaml").write_text(paths)
    settings = load_settings(config)
    journal = await Journal.open(settings.journal_path)
    clock, wire = Clock(now), Wire()
    emitter = Emitter(source="auditor", journal=journal, publisher=wire,  # type: ignore[arg-type]
                      clock=clock)
    services = KernelServices(set_gate=lambda gate: None, send_command=lambda *a, **k: 0,
                              request_stop=lambda reason: None)
    ctx = ActorContext(name="auditor", emitter=emitter, journal=journal, clock=clock,
                       services=services)
    actor = Auditor(config=audit_slice(settings), tick_s=0.01)
    await actor.start(ctx)
    return World(root, journal, clock, wire, actor)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = await make_world(tmp_path)
    yield w
    await w.journal.close()


async def trade_on_may_1st(w: World) -> None:
    t = MAY1 + 3600
    await w.write(KernelStateChanged(state="running", ts=t), t, "kernel")
    await w.write(Heartbeat(bot_id="qe", seq=1, ts=t, uptime_s=1, equity=10_000,
                            realized_pnl=0, unrealized_pnl=0), t)
    for n, (side, price) in enumerate((("buy", 100.0), ("sell", 103.0))):
        rid = f"r{n}"
        await w.write(OrderRequest(request_id=rid, bot_id="qe", ts=t, symbol="SOLUSDT",
                                   side=side, qty=10, price=price), t + n)  # type: ignore[arg-type]
        await w.write(OrderDecision(request_id=rid, verdict="ALLOW", reason="ok", code="ok",
                                    trading_state="ACTIVE", bot_id="qe"), t + n)
        await w.write(Fill(request_id=rid, symbol="SOLUSDT", side=side,  # type: ignore[arg-type]
                           qty=10, price=price, ts=t, fee=0.5, bot_id="qe"), t + n)
    await w.write(Heartbeat(bot_id="qe", seq=2, ts=t, uptime_s=9, equity=10_029,
                            realized_pnl=29, unrealized_pnl=0), t + 10)


async def test_a_finding_comes_back_from_handle_as_an_anomaly(world: World) -> None:
    actor = world.actor
    world.clock.now = 1000.0
    assert await actor.handle(OrderRequest(request_id="slow", bot_id="qe", ts=999.0,
                                           symbol="BTCUSDT", side="buy", qty=1,
                                           price=1)) == []
    (found,) = await actor.handle(OrderDecision(request_id="slow", verdict="ALLOW", reason="r",
                                                code="ok", trading_state="ACTIVE",
                                                bot_id="qe"))
    assert isinstance(found, AnomalyDetected)
    assert (found.kind, found.source, found.ts) == ("decision_latency", "auditor", 1000.0)


async def test_the_day_is_audited_stored_published_and_written(world: World) -> None:
    await trade_on_may_1st(world)
    audit = await world.actor.close_day("2024-05-01")
    assert audit is not None and audit.complete and audit.traded
    assert (audit.trades.trades, audit.trades.wins) == (1, 1)
    assert audit.pnl.realized_pnl == 29  # 10 x 3 - 2 x 0.5
    stored = world.bodies("audit.daily")
    assert len(stored) == 1 and stored[0]["day"] == "2024-05-01"
    assert msgspec.convert(stored[0], DailyAuditCompleted, strict=False) == audit
    assert "audit.daily" in world.wire.topics
    report = (world.root / "reports" / "audit-2024-05-01.md").read_text()
    assert "| Realised PnL, net of fees | 29.00 |" in report
    assert verify_journal(world.journal.path).audits_checked == 1


async def test_midnight_is_noticed_by_the_timer(tmp_path: Path) -> None:
    w = await make_world(tmp_path, now=MAY2 - 0.5)
    try:
        runner = asyncio.create_task(w.actor.run())
        await asyncio.sleep(0.05)
        assert w.bodies("audit.daily") == []
        w.clock.now = MAY2 + 0.5
        async with asyncio.timeout(10):
            while not w.bodies("audit.daily"):
                await asyncio.sleep(0.01)
        runner.cancel()
        (audit,) = w.bodies("audit.daily")
        assert audit["day"] == "2024-05-01" and not audit["traded"]
        assert "No trading" in (tmp_path / "reports" / "audit-2024-05-01.md").read_text()
    finally:
        await w.journal.close()


async def test_the_report_is_written_before_the_audit_is_published(world: World) -> None:
    """Whoever reacts to ``audit.daily`` (a person, the Meta-Agent, a test) finds the file."""
    world.wire.watch = world.root / "reports" / "audit-2024-05-01.md"
    await trade_on_may_1st(world)
    assert await world.actor.close_day("2024-05-01") is not None
    assert world.wire.seen_with_file == [True]


async def test_a_day_missed_while_down_is_audited_on_start(world: World) -> None:
    await trade_on_may_1st(world)
    runner = asyncio.create_task(world.actor.run())
    async with asyncio.timeout(10):
        while not world.bodies("audit.daily"):
            await asyncio.sleep(0.01)
    runner.cancel()
    assert [a["day"] for a in world.bodies("audit.daily")] == ["2024-05-01"]


async def test_an_unwritable_reports_dir_is_an_anomaly_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the folder should be")
    w = await make_world(tmp_path, reports="blocker/reports")
    try:
        await trade_on_may_1st(w)
        assert await w.actor.close_day("2024-05-01") is not None
        await w.journal.flush()
        (anomaly,) = [a for a in w.bodies("anomaly") if a["kind"] == "report_unwritable"]
        assert anomaly["severity"] == "error"
        assert "blocker/reports/audit-2024-05-01.md" in anomaly["detail"]
        assert len(w.bodies("audit.daily")) == 1  # the audit itself is kept
    finally:
        await w.journal.close()


async def test_retention_follows_the_audit_and_keeps_the_chain_verifiable(
    tmp_path: Path,
) -> None:
    w = await make_world(tmp_path, audit_yaml="retention_days: 1\n", now=MAY2 + 86_400 + 5)
    try:
        await trade_on_may_1st(w)
        await w.write(KernelStateChanged(state="running", ts=MAY2 + 60), MAY2 + 60, "kernel")
        await w.actor.close_day("2024-05-02")
        archive = tmp_path / "data" / "archive"
        assert [p.name for p in archive.iterdir()] == ["journal-2024-05-01-000000000001.jsonl.gz"]
        assert min(r.ts for r in read_journal(w.journal.path)) >= MAY2
        assert verify_journal(w.journal.path, archive_dir=archive).ok
    finally:
        await w.journal.close()
