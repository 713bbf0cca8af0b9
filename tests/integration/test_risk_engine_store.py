"""Saving and finding the risk state in a real journal file."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agents.risk._store import RiskStore, SavedStateUnreadable, ledger_of, persisted
from agents.risk.actor import RiskEngine
from bus.protocol import Fill
from kernel.journal import Journal, JournalEntry
from risk import initial_state, replay
from risk.state import OpenOrder, PositionState, RequestIds
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    ask,
    beat,
    fill,
    heartbeat,
    journal_bodies,
    ready_bot,
    until,
)
from tests.unit.risk.risk_world import NOW, limits

pytestmark = pytest.mark.timeout(60)


def noise(count: int) -> list[JournalEntry]:
    return [JournalEntry(ts=NOW, topic="order.decision", source="gateway", kind="x",
                         payload=b"\x80") for _ in range(count)]


async def fill_with(journal: Journal, count: int) -> None:
    for entry in noise(count):
        journal.append(entry)
    await journal.flush()


async def test_the_newest_save_is_found_however_far_back_it_is(tmp_path: Path) -> None:
    lim = limits()
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        assert await store.load() is None
        await fill_with(journal, 3_000)
        older = initial_state(lim, NOW)
        await store.save(older)
        await fill_with(journal, 2_000)
        newer = msgspec.structs.replace(older, consecutive_losses=2)
        await store.save(newer)
        await fill_with(journal, 40_000)  # far beyond the first window read from the end
        assert await store.load() == newer


async def test_an_unreadable_newest_save_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        await store.save(initial_state(limits(), NOW))
        await journal.append_durable(JournalEntry(ts=NOW, topic="risk.saved", source="risk",
                                                  kind="risk_state_saved", payload=b"\xc1"))
        with pytest.raises(SavedStateUnreadable, match="cannot be read"):
            await store.load()


def test_only_the_last_block_of_request_ids_is_kept() -> None:
    state = initial_state(limits(), NOW)
    ids = RequestIds()
    for i in range(200):
        ids = ids.add(f"r{i}", 4096)
    kept = persisted(msgspec.structs.replace(state, request_ids=ids)).request_ids
    assert kept.chunks == () and kept.recent == ids.recent and "r199" in kept


def test_a_restored_engine_walks_its_open_orders_at_the_first_check() -> None:
    """When the open orders were last walked for late ones is not saved: a restored
    engine's reservations are partly replayed from the journal, with their own times."""
    walked = msgspec.structs.replace(initial_state(limits(), NOW), unconfirmed_from=NOW)
    assert persisted(walked).unconfirmed_from is None
    assert persisted(walked).request_ids == walked.request_ids


async def test_an_engine_over_an_unreadable_save_starts_halted(
    start_kernel: Any, tmp_path: Path,
) -> None:
    async with await Journal.open(tmp_path / "data" / "journal.sqlite3") as journal:
        await journal.append_durable(JournalEntry(ts=NOW, topic="risk.saved", source="risk",
                                                  kind="risk_state_saved", payload=b"junk"))
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    state = engines.current.state
    assert state.trading_state == "HALTED"
    assert state.reason_codes() == {"saved_state_unreadable", "awaiting_heartbeat"}
    await until(lambda: journal_bodies(harness, "anomaly.risk"), "the anomaly journaled")
    anomalies = journal_bodies(harness, "anomaly.risk")
    assert [a["kind"] for a in anomalies] == ["saved_state_unreadable"]


async def test_fills_wait_for_the_timer_and_the_journal_rebuilds_them(
    start_kernel: Any,
) -> None:
    """Fills that raise no event are not saved one by one (with thousands of open
    orders each save is a megabyte on the loop); the newest save plus the ``order.*``
    rows after it, replayed as a restart does, give the engine's very ledger. A
    heartbeat after them waits too; an event (a trip) saves at once."""
    engines = Engines(save_every_s=3600.0)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    engine = engines.current
    store = RiskStore(engine.ctx.journal, source="risk", clock=lambda: NOW)

    async def rebuilt() -> tuple[object, ...]:
        saved = await store.load()
        assert saved is not None
        return ledger_of(replay(saved, await store.order_facts(store.loaded_seq),
                                engine._limits))

    try:
        await until(lambda: engine.state.trading_state == "ACTIVE", "ACTIVE after the beat")
        await engine.ctx.journal.flush()
        saves = len(journal_bodies(harness, "risk.saved"))
        for i, (side, price) in enumerate([("buy", 50_000.0)] * 3 + [("sell", 49_500.0)]):
            assert (await ask(bot, f"f{i}", side=side, qty=0.01, price=price)).verdict == "ALLOW"
            await fill(bot, engines, f"f{i}", side=side, qty=0.01, price=price)
        await beat(bot, engines, heartbeat(2, positions=[("BTCUSDT", 0.02, 50_000.0,
                                                          49_500.0)]))
        await engine.ctx.journal.flush()
        assert len(journal_bodies(harness, "risk.saved")) == saves, "a fill was saved at once"
        position = engine.state.positions["BTCUSDT"]
        assert (position.qty, engine.state.realized_pnl) == (Decimal("0.02"), Decimal(-5))
        assert await rebuilt() == ledger_of(engine.state)
        # a fill that trips a limit is news: saved before it goes out
        await bot.send(Fill(request_id="big", symbol="BTCUSDT", side="sell", qty=0.02,
                            price=30_000.0, ts=time.time()))
        await until(lambda: engine.state.trading_state == "HALTED", "halted by the loss")
        await engine.ctx.journal.flush()
        assert len(journal_bodies(harness, "risk.saved")) == saves + 1
        assert await rebuilt() == ledger_of(engine.state)
    finally:
        bot.close()


@asynccontextmanager
async def bought(start_kernel: Any,
                 request_id: str) -> AsyncIterator[tuple[KernelHarness, RiskEngine, int]]:
    """A kernel whose engine saves on its timer once an hour (so every save seen is one
    made at once), after one buy of 0.01 BTCUSDT allowed as ``request_id``: the
    harness, the engine and how many saves the journal holds by then."""
    engines = Engines(save_every_s=3600.0)
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    engine = engines.current
    try:
        await until(lambda: engine.state.trading_state == "ACTIVE", "ACTIVE after the beat")
        verdict = (await ask(bot, request_id, side="buy", qty=0.01, price=50_000.0)).verdict
        assert verdict == "ALLOW"
        await engine.ctx.journal.flush()
        yield harness, engine, len(journal_bodies(harness, "risk.saved"))
    finally:
        bot.close()


async def test_a_fill_that_reaches_the_engine_over_the_bus_waits_for_the_timer_too(
    start_kernel: Any,
) -> None:
    """A fill that reaches the engine over the bus (it was behind) may have a save
    between its row and its taking; it waits for the timer all the same, because
    the next save names it as the newest fact it holds and a restore replays the
    fills and updates journaled after that fact's row, the save's own row or not
    (``test_risk_engine_unseen.py``)."""
    async with bought(start_kernel, "b1") as (harness, engine, saves):
        over_the_bus = Fill(request_id="b1", symbol="BTCUSDT", side="buy", qty=0.01,
                            price=50_000.0, ts=time.time(), bot_id="qe-1")
        await engine.handle(over_the_bus)
        await engine.ctx.journal.flush()
        assert len(journal_bodies(harness, "risk.saved")) == saves, "a fill saved at once"
        assert await engine._save_if_due(time.time(), force=True)  # the timer's save
        await engine.ctx.journal.flush()
        bodies = journal_bodies(harness, "risk.saved")
        assert Decimal(bodies[-1]["state"]["positions"]["BTCUSDT"]["qty"]) == Decimal("0.01")
        assert msgspec.convert(bodies[-1]["last_fact"], Fill) == over_the_bus


async def test_a_heartbeats_copy_after_fills_taken_on_the_path_saves_nothing(
    start_kernel: Any,
) -> None:
    """On the path the engine may take a heartbeat and then a fill before the
    heartbeat's bus copy comes back; at the heartbeat's turn the ledger that fill
    moved waits for the timer as at the fill's own (under a fuzz flood each such
    turn saved the whole state: about 200 saves, 150 MB, in 8 s)."""
    async with bought(start_kernel, "p1") as (harness, engine, saves):
        beat_, fill_ = heartbeat(5), Fill(request_id="p1", symbol="BTCUSDT", side="buy",
                                          qty=0.01, price=50_000.0, ts=time.time(),
                                          bot_id="qe-1")
        assert engine.take_fact(beat_, time.time()) and engine.take_fact(fill_, time.time())
        await engine.handle(beat_)  # the copies, in the order taken
        await engine.handle(fill_)
        await engine.ctx.journal.flush()
        assert len(journal_bodies(harness, "risk.saved")) == saves, "saved at once"
        assert engine.state.positions["BTCUSDT"].qty == Decimal("0.01")


def test_an_open_order_is_saved_without_its_defaults_and_read_back_whole() -> None:
    """With 10,000 open orders the saved state is mostly their fields: the ones at
    their defaults are left out, and decoding (this kernel's or an older save's
    full form) gives the same order."""
    order = OpenOrder(symbol="BTCUSDT", side="buy", qty=Decimal("0.001"),
                      price=Decimal("50000"), ts=NOW)
    lean = msgspec.msgpack.encode(order)
    full = msgspec.msgpack.encode(msgspec.structs.asdict(order))
    assert len(lean) < len(full) * 0.6
    assert msgspec.msgpack.decode(lean, type=OpenOrder) == order
    assert msgspec.msgpack.decode(full, type=OpenOrder) == order


def test_a_mark_for_a_new_symbol_is_not_a_ledger_change() -> None:
    """A heartbeat's marks add a flat position per symbol they name; that is no reason
    to save at once (a flood of mutated heartbeats named a new symbol in each)."""
    state = initial_state(limits(), NOW)
    marked = msgspec.structs.replace(state, positions={
        **state.positions, "NEWUSDT": PositionState(mark_price=Decimal("2"), mark_ts=NOW)})
    assert ledger_of(marked) == ledger_of(state)
    held = msgspec.structs.replace(marked, positions={
        **marked.positions, "NEWUSDT": PositionState(qty=Decimal("1"), avg_price=Decimal("2"))})
    assert ledger_of(held) != ledger_of(state)
    closed = msgspec.structs.replace(marked, positions={
        **marked.positions, "NEWUSDT": PositionState(trade_pnl=Decimal("-1"))})
    assert ledger_of(closed) != ledger_of(state)
