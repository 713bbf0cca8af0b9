"""``kernel replay`` on a real journal file whose older days retention has archived:
a stretch whose starting state went with them is refused, saying why and what to do;
one that starts from a save still in the file is replayed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.audit.retention import retain
from agents.risk.replay_journal import JournalGap, read_window, replay_window
from bus.codec import encode
from bus.protocol import Message, OrderUpdate
from kernel.emitter import tag_of
from kernel.events import (
    KernelStateChanged,
    OperatorCommandAnswered,
    OperatorCommandIssued,
    OperatorCommandTaken,
)
from kernel.journal import Journal, JournalEntry
from kernel.settings import load_settings
from risk import decide, initial_state, order_decision
from risk.heartbeat import apply_heartbeat
from risk.messages import RiskStateSaved, RiskStateSavedInParts
from tests.conftest import write_config
from tests.support.processes import ROOT
from tests.unit.risk.risk_world import heartbeat, order

DAY = 86_400.0
D1 = datetime(2024, 5, 1, tzinfo=UTC).timestamp()


def row(ts: float, message: Message) -> JournalEntry:
    return JournalEntry(ts, message.topic, "test", tag_of(message), encode(message))


async def three_days(path: Path, config: Path, *, save_on_day2: bool,
                     slice_missing: bool = False) -> None:
    """A kernel start on May 1st, then a beat and an order each day (and a saved
    state late on day 2, naming a slice not in the file with ``slice_missing``);
    retention archives everything up to day 2's order."""
    limits = load_settings(config).risk
    journal = await Journal.open(path)
    state = initial_state(limits, D1 + 60)
    journal.append(row(D1 + 60, KernelStateChanged(state="starting", ts=D1 + 60)))
    for day in range(3):
        ts = D1 + day * DAY + 3600
        hb = heartbeat(marks={"ETHUSDT": 2_500.0}, tick_ts=ts, ts=ts)
        journal.append(row(ts, hb))
        state, _ = apply_heartbeat(state, hb, limits, ts)
        asked = order("ETHUSDT", qty=0.1, price=2_500.0, request_id=f"d{day}")
        decision, state = decide(asked, state, limits, ts + 1)
        journal.append(row(ts + 1, asked))
        journal.append(row(ts + 1, order_decision(asked, decision, state.trading_state,
                                                        ts + 1)))
        if day == 1 and save_on_day2:
            saved = (RiskStateSavedInParts(ts=ts + 3600, state=state, order_parts=(999,))
                     if slice_missing else RiskStateSaved(ts=ts + 3600, state=state))
            journal.append(row(ts + 3600, saved))
    await journal.flush()
    try:
        assert await retain(journal, archive_dir=path.parent / "archive",
                            cutoff_ts=D1 + DAY + 3600 + 2, utc_offset_s=0, now=D1 + 3 * DAY)
    finally:
        await journal.close()


async def test_a_day_whose_only_save_is_unreadable_and_older_rows_archived_says_both(
        tmp_path: Path) -> None:
    config = write_config(tmp_path)
    path = tmp_path / "data" / "journal.sqlite3"
    await three_days(path, config, save_on_day2=True, slice_missing=True)
    day3 = D1 + 2 * DAY
    with pytest.raises(JournalGap, match=r"none of the 1 newest risk states saved before the "
                       r"start of the stretch can be read \(the risk state saved at journal "
                       r"row #\d+ names its open orders' slice at row #999, which is not in "
                       r"the file\), and the journal's rows before seq"):
        read_window(path, day3, day3 + DAY)


async def test_a_day_whose_starting_state_was_archived_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    path = tmp_path / "data" / "journal.sqlite3"
    await three_days(path, config, save_on_day2=False)
    day3 = D1 + 2 * DAY
    with pytest.raises(JournalGap, match="archived by retention"):
        read_window(path, day3, day3 + DAY)
    said = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "kernel.console.cli", "--config-dir", str(config), "replay",
         "--day", "2024-05-03", "--risk", str(config / "risk.yaml")],
        cwd=ROOT, capture_output=True, timeout=60,
        env={**os.environ, "COLUMNS": "300", "NO_COLOR": "1"})
    assert said.returncode == 8, said.stderr.decode()
    text = " ".join(said.stderr.decode().split())
    assert "cannot replay:" in text and "archived by retention" in text and "Fix:" in text


async def test_a_day_with_a_save_still_in_the_file_is_replayed(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    path = tmp_path / "data" / "journal.sqlite3"
    await three_days(path, config, save_on_day2=True)
    day3 = D1 + 2 * DAY
    found = replay_window(path, day3, day3 + DAY, load_settings(config).risk)
    assert found.counts.orders == 1 and found.exact


async def test_facts_the_engine_had_not_taken_when_it_saved_lead_the_replay(
    tmp_path: Path,
) -> None:
    """A save made while a heartbeat and an update were still on their way to the
    engine names the newest fact it holds; the replay from that save applies the
    facts journaled after that fact first, as the engine did after saving."""
    path = tmp_path / "j.sqlite3"
    limits = load_settings(write_config(tmp_path)).risk
    ts = D1 + 3600
    taken, later = (heartbeat(marks={"ETHUSDT": 2_500.0}, tick_ts=t, ts=t)
                    for t in (ts, ts + 1))
    update = OrderUpdate(request_id="x", status="cancelled", ts=ts + 2)
    async with await Journal.open(path) as journal:
        for message in (taken, later, update):
            journal.append(row(ts + 2, message))
        saved = RiskStateSaved(ts=ts + 3, state=initial_state(limits, ts), last_fact=taken)
        journal.append(row(ts + 3, saved))
        journal.append(row(ts + 4, order("ETHUSDT", qty=0.1, price=2_500.0, request_id="o")))
    window = read_window(path, ts + 4, ts + 5)
    assert [type(r.fact).__name__ for r in window.rows] == [
        "Based", "Heartbeat", "OrderUpdate", "OrderRequest"]
    assert window.rows[1].fact == later


async def test_a_restored_engines_save_replays_from_where_its_restore_read(
    tmp_path: Path,
) -> None:
    """A restored engine's save names a fact its restore had read already (a copy still
    queued from before the read) and the seq the restore read through: the replay from
    that save starts after the later of the two, as a restart does, so the update the
    restored state holds is not applied again."""
    path = tmp_path / "j.sqlite3"
    limits = load_settings(write_config(tmp_path)).risk
    ts = D1 + 3600
    beat = heartbeat(marks={"ETHUSDT": 2_500.0}, tick_ts=ts, ts=ts)
    update = OrderUpdate(request_id="x", status="cancelled", ts=ts + 1)
    async with await Journal.open(path) as journal:
        for message in (beat, update):
            journal.append(row(ts + 1, message))
        await journal.flush()
        through = journal.last_seq
        saved = RiskStateSaved(ts=ts + 3, state=initial_state(limits, ts), last_fact=beat,
                               facts_through=through)
        journal.append(row(ts + 3, saved))
        journal.append(row(ts + 4, order("ETHUSDT", qty=0.1, price=2_500.0, request_id="o")))
    window = read_window(path, ts + 4, ts + 5)
    assert [type(r.fact).__name__ for r in window.rows] == ["Based", "OrderRequest"]


async def operator_day(path: Path, config: Path, tail: list[Message]) -> float:
    """A start, a heartbeat, an operator's halt (``op-1``) and, while it is on its way to
    the engine, an order decided on the state before it; then ``tail``."""
    limits = load_settings(config).risk
    journal = await Journal.open(path)
    ts = D1 + 3600
    state = initial_state(limits, ts)
    journal.append(row(ts, KernelStateChanged(state="starting", ts=ts)))
    hb = heartbeat(marks={"ETHUSDT": 2_500.0}, tick_ts=ts, ts=ts)
    journal.append(row(ts, hb))
    state, _ = apply_heartbeat(state, hb, limits, ts)
    journal.append(row(ts + 1, OperatorCommandIssued(action="halt", reason="lunch", user="ann",
                                                     ts=ts + 1, request_id="op-1")))
    asked = order("ETHUSDT", qty=0.1, price=2_500.0, request_id="o-1")
    decision, state = decide(asked, state, limits, ts + 2)
    assert decision.allowed  # the engine had not taken the halt yet
    journal.append(row(ts + 2, asked))
    journal.append(row(ts + 2, order_decision(asked, decision, state.trading_state, ts + 2)))
    for message in tail:
        journal.append(row(ts + 3, message))
    await journal.flush()
    await journal.close()
    return ts


def facts_of(path: Path, ts: float) -> list[str]:
    return [type(r.fact).__name__ for r in read_window(path, ts - 60, ts + DAY).rows]


async def test_an_operators_halt_is_replayed_where_its_engine_took_it(tmp_path: Path) -> None:
    """The order decided between the halt's row and the engine taking it was decided on
    the state before the halt, and the replay decides it there too."""
    config, path = write_config(tmp_path), tmp_path / "data" / "journal.sqlite3"
    ts = await operator_day(path, config, [
        OperatorCommandTaken(request_id="op-1", ts=ts_after(3)),
        OperatorCommandAnswered(request_id="op-1", action="halt", outcome="applied",
                                detail="halted", ts=ts_after(3))])
    assert facts_of(path, ts) == ["Restarted", "Heartbeat", "OrderRequest", "OrderDecision",
                                  "Halted"]
    found = replay_window(path, ts - 60, ts + DAY, load_settings(config).risk)
    assert found.counts.orders == 1 and found.exact and found.flips == []


async def test_before_the_taken_row_a_request_is_replayed_at_its_answer(
        tmp_path: Path) -> None:
    """A journal from a kernel before ``operator.taken``: the answer's row, later than the
    engine took it but never before."""
    config, path = write_config(tmp_path), tmp_path / "data" / "journal.sqlite3"
    ts = await operator_day(path, config, [
        OperatorCommandAnswered(request_id="op-1", action="halt", outcome="applied",
                                detail="halted", ts=ts_after(3))])
    assert facts_of(path, ts)[-2:] == ["OrderDecision", "Halted"]


async def test_a_request_no_engine_took_before_a_restart_is_not_replayed(
        tmp_path: Path) -> None:
    config, path = write_config(tmp_path), tmp_path / "data" / "journal.sqlite3"
    ts = await operator_day(path, config, [
        KernelStateChanged(state="starting", ts=ts_after(3)),
        OperatorCommandTaken(request_id="op-1", ts=ts_after(4))])
    assert facts_of(path, ts)[-2:] == ["OrderDecision", "Restarted"]


def ts_after(seconds: float) -> float:
    return D1 + 3600 + seconds
