"""A journal that cannot commit, with the kernel running: a person's decision is taken
only once its row is on disk, and the denials the bot got meanwhile are kept aside and
journaled when the journal can take them again, so the audit counts them as denied."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from agents.audit.journal import build_audit
from agents.meta.pipeline import proposal_store
from agents.meta.report import ProposalDraft
from bus.codec import encode
from bus.protocol import OrderDecision
from kernel._journal_aside import aside_path, read_aside
from kernel.console.cli import main
from kernel.console.control_client import ControlRefused, ask
from kernel.control_protocol import Recorded, RecordRequest
from kernel.events import AnomalyDetected, OperatorCommandIssued
from kernel.journal import Journal, read_journal
from risk.days import day_of
from tests.conftest import KernelHarness, write_config
from tests.support.link import RawBot, order

pytestmark = pytest.mark.timeout(60)


@contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process holds the journal's write lock: every commit fails while it lasts."""
    with closing(sqlite3.connect(path, isolation_level=None)) as blocker:
        blocker.execute("BEGIN IMMEDIATE")
        try:
            yield blocker
        finally:
            if blocker.in_transaction:
                blocker.execute("ROLLBACK")


def point_the_cli_at(harness: KernelHarness) -> None:
    """The test kernel bound ephemeral ports; the commands need them in their config."""
    ports = {name: int(harness.endpoints[key].rsplit(":", 1)[1]) for name, key in (
        ("link", "bot_link"), ("pub", "bus_publish"), ("sub", "bus_subscribe"),
        ("control", "control"))}
    write_config(harness.kernel.settings.config_dir.parent, ports=ports)


async def cli(harness: KernelHarness, capsys: pytest.CaptureFixture[str],
              *args: str) -> tuple[int, str]:
    config = harness.kernel.settings.config_dir
    code = await asyncio.to_thread(main, ["--config-dir", str(config), *args])
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())


def kinds(path: Path, topic: str = "") -> list[str]:
    return [row.kind for row in read_journal(path, topic_prefix=topic, limit=100_000)]


async def test_a_decision_the_journal_cannot_commit_is_not_taken(
    start_kernel: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    harness: KernelHarness = await start_kernel()
    point_the_cli_at(harness)
    settings = harness.kernel.settings
    store = proposal_store(settings.data_dir)
    proposal = store.add(ProposalDraft(kind="feature", title="Trail the stops"), job="j",
                         task_id="t", source="external", now=time.time())
    with write_lock_held(settings.journal_path):
        code, said = await cli(harness, capsys, "proposals", "reject", str(proposal.id),
                               "--reason", "not now")
        assert code == 10, said
        assert "not rejected: the decision could not be journaled" in said
        assert "could not commit" in said and "database is locked" in said
        assert "rejected (journaled)" not in said
        assert store.get(proposal.id).status == "pending"
        mode = harness.kernel.mode
        code, said = await cli(harness, capsys, "mode", "paper" if mode == "off" else "off",
                               "--reason", "while the journal is locked")
        assert code == 1 and "refused" in said and "could not commit" in said, said
        assert harness.kernel.mode == mode  # an operator's command takes effect once on disk
    code, said = await cli(harness, capsys, "proposals", "reject", str(proposal.id),
                           "--reason", "not now")
    assert code == 0 and "rejected (journaled)" in said, said
    assert store.get(proposal.id).status == "rejected"
    assert await harness.stop() == 0
    rows = read_journal(settings.journal_path, topic_prefix="meta.proposal")
    assert [(r.kind, r.source) for r in rows] == [("proposal_decided", "control:kernel-meta")]


async def test_denials_sent_while_the_journal_fails_are_journaled_once_it_recovers(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel()
    path = harness.kernel.settings.journal_path
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        with write_lock_held(path):
            await bot.send(order("while-locked"))
            reply = await bot.recv(timeout_s=15)
            assert isinstance(reply, OrderDecision) and reply.code == "journal_unavailable"
            kept = read_aside(aside_path(path))
            assert [(line.kind, line.source) for line in kept] == [("order_decision", "gateway")]
        deadline = time.monotonic() + 10
        while "while-locked" not in str([r.payload for r in read_journal(
                path, topic_prefix="order.decision")]):
            assert time.monotonic() < deadline, "the kept denial never reached the journal"
            await asyncio.sleep(0.05)
    finally:
        bot.close()
    assert await harness.stop() == 0
    assert not aside_path(path).exists()  # every row kept aside is in the journal now
    audit = build_audit(path, day_of(time.time(), 0), zone="UTC", utc_offset_s=0,
                        now=time.time())
    assert (audit.orders.requested, audit.orders.denied, audit.orders.unanswered) == (1, 1, 0)
    assert audit.orders.denied_by_code == {"journal_unavailable": 1}


async def test_rows_queued_when_the_kernel_stops_on_a_failing_journal_are_kept_aside(
    start_kernel: Any,
) -> None:
    """The kernel stops while another process still holds the lock: the queue goes to
    the fallback file (not "N queued entries were not written"), and the next open
    journals it, the denial included, with a note saying so."""
    harness: KernelHarness = await start_kernel()
    path = harness.kernel.settings.journal_path
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        with write_lock_held(path):
            await bot.send(order("before-stop"))
            reply = await bot.recv(timeout_s=15)
            assert isinstance(reply, OrderDecision) and reply.code == "journal_unavailable"
            assert await harness.stop() == 3
    finally:
        bot.close()
    error = harness.kernel.journal_error
    assert f"kept aside in {aside_path(path)}, to be journaled at the next start" in error
    assert ", 0 lost" in error
    kept = [line.kind for line in read_aside(aside_path(path))]
    assert "order_request" in kept and "order_decision" in kept and "kernel_state" in kept
    async with await Journal.open(path):
        pass
    assert not aside_path(path).exists()
    assert kinds(path, "order.") == ["order_request", "order_decision"]
    notes = [r for r in read_journal(path, topic_prefix="anomaly")
             if b"journal_rows_recovered" in r.payload]
    assert len(notes) == 1 and b"are journaled now" in notes[0].payload
    audit = build_audit(path, day_of(time.time(), 0), zone="UTC", utc_offset_s=0,
                        now=time.time())
    assert (audit.orders.denied, audit.orders.unanswered) == (1, 0)


async def test_a_tool_may_record_its_own_topics_only(start_kernel: Any) -> None:
    """The record request is for the tools' jobs, proposals, audits and LLM calls: it
    cannot be used to slip an operator's command past the operator desk."""
    harness: KernelHarness = await start_kernel()
    endpoint = harness.endpoints["control"]
    forged = OperatorCommandIssued(action="resume", reason="r", user="u", ts=time.time())
    with pytest.raises(ControlRefused, match=r"topic 'operator\.command' cannot be recorded"):
        await asyncio.to_thread(ask, endpoint, RecordRequest(payload=encode(forged),
                                                              source="kernel-meta"))
    with pytest.raises(ControlRefused, match="not a message this kernel knows"):
        await asyncio.to_thread(ask, endpoint, RecordRequest(payload=b"\x80", source="x"))
    note = AnomalyDetected(kind="meta_job_failed", severity="error", ts=time.time(),
                           source="meta", detail="d")
    reply = await asyncio.to_thread(ask, endpoint, RecordRequest(payload=encode(note),
                                                                  source="kernel-meta"))
    assert isinstance(reply, Recorded) and reply.topic == "anomaly"
    rows = read_journal(harness.kernel.settings.journal_path, after_seq=reply.seq - 1, limit=1)
    assert rows[0].source == "control:kernel-meta" and rows[0].kind == "anomaly"
