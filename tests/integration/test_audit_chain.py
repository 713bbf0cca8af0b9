"""The hash chain on real journal files: written by the writer, checked read-only, and
broken by plain sqlite3 edits the way someone tampering would make them."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.audit.figures import Chain, daily_audit
from bus.codec import encode
from bus.protocol import OrderDecision
from kernel import hashchain
from kernel._journal_schema import MIGRATIONS
from kernel.console.chain_verify import verify_journal
from kernel.journal import Journal, JournalEntry, read_journal

DAY1 = datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()
DAY2 = datetime(2024, 5, 2, 10, tzinfo=UTC).timestamp()


def entry(n: int, ts: float = DAY1) -> JournalEntry:
    decision = OrderDecision(request_id=f"r{n}", verdict="DENY" if n % 3 == 0 else "ALLOW",
                             reason="r", code="halted" if n % 3 == 0 else "ok",
                             trading_state="ACTIVE")
    return JournalEntry(ts + n, "order.decision", "gateway", "order_decision", encode(decision))


async def write(path: Path, count: int, ts: float = DAY1, **options: object) -> bytes | None:
    async with await Journal.open(path, **options) as journal:  # type: ignore[arg-type]
        for n in range(count):
            journal.append(entry(n, ts))
        await journal.flush()
        return journal.head


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


def tamper(path: Path, *statements: str) -> None:
    """What someone with the file and the sqlite3 shell can do."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


async def test_every_row_carries_its_severity_and_its_link(path: Path) -> None:
    head = await write(path, 6)
    rows = read_journal(path)
    assert [r.severity for r in rows] == ["warning", "info", "info"] * 2
    assert all(r.hash is not None and len(r.hash) == 32 for r in rows)
    assert rows[-1].hash == head
    report = verify_journal(path)
    assert report.ok and report.rows.checked == 6 and report.rows.head == head
    assert report.anchor.seq == 0 and "new journal" in report.anchor.reason


async def test_the_chain_goes_on_across_reopening(path: Path) -> None:
    await write(path, 3)
    await write(path, 3, ts=0.1 + 0.2, synchronous="full")  # a ts must read back to its bits
    assert verify_journal(path).rows.checked == 6


async def test_an_edited_row_is_refused_and_if_forced_found(path: Path) -> None:
    await write(path, 10)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(path, "UPDATE journal SET payload = x'00' WHERE seq = 4")
    tamper(path, "DROP TRIGGER journal_append_only",
           "UPDATE journal SET source = 'someone else' WHERE seq = 4")
    report = verify_journal(path)
    assert not report.ok and report.rows.broken is not None
    assert (report.rows.broken.seq, report.rows.checked) == (4, 3)
    assert "first broken row: seq 4 (order.decision)" in report.problems[0]


async def test_a_deleted_row_is_refused_and_if_forced_found(path: Path) -> None:
    await write(path, 10)
    with pytest.raises(sqlite3.IntegrityError, match="archived"):
        tamper(path, "DELETE FROM journal WHERE seq = 5")
    tamper(path, "DROP TRIGGER journal_delete_archived_only", "DELETE FROM journal WHERE seq = 5")
    broken = verify_journal(path).rows.broken
    assert broken is not None and broken.seq == 5 and "missing" in broken.problem


async def test_a_rehashed_history_is_caught_by_the_audit_that_recorded_the_head(
    path: Path,
) -> None:
    await write(path, 5)
    rows = read_journal(path)
    audit = daily_audit("2024-05-01", "UTC", [], opening={}, now=DAY2, complete=True,
                        chain=Chain(5, (rows[-1].hash or b"").hex()))
    async with await Journal.open(path) as journal:
        await journal.append_durable(JournalEntry(DAY2, audit.topic, "auditor", "daily_audit",
                                                  encode(audit)))
    assert verify_journal(path).audits_checked == 1 and verify_journal(path).ok
    # Forge row 2, then re-link every row after it, as a careful tamperer would.
    tamper(path, "DROP TRIGGER journal_append_only",
           "UPDATE journal SET payload = x'80' WHERE seq = 2")
    forged = read_journal(path)
    head = forged[0].hash or b""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for row in forged[1:]:
            head = hashchain.link_row(head, row)
            db.execute("UPDATE journal SET hash = ? WHERE seq = ?", (head, row.seq))
    report = verify_journal(path)
    assert report.rows.ok  # the chain itself was rebuilt...
    assert not report.ok  # ...but the audit's recorded head no longer matches
    assert "rewritten" in report.problems[0] and "2024-05-01" in report.problems[0]


async def test_verify_a_day_starts_from_the_row_before_it(path: Path) -> None:
    await write(path, 5, DAY1)
    await write(path, 5, DAY2)
    midnight = datetime(2024, 5, 2, tzinfo=UTC).timestamp()
    window = (midnight, midnight + 86_400)
    report = verify_journal(path, window=window)
    assert report.ok and (report.rows.first_seq, report.rows.last_seq) == (6, 10)
    tamper(path, "DROP TRIGGER journal_append_only",
           "UPDATE journal SET ts = ts + 1 WHERE seq = 2")
    assert verify_journal(path, window=window).ok  # day 1's edit is outside the window
    assert not verify_journal(path).ok


async def test_a_journal_from_before_the_chain_is_anchored_at_its_last_old_row(
    path: Path,
) -> None:
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.executemany("INSERT INTO journal VALUES (?, ?, 't', 's', 'k', x'80')",
                       [(n, DAY1 + n) for n in (1, 2, 3)])
        db.execute("PRAGMA user_version = 1")
    await write(path, 2)
    rows = read_journal(path)
    assert [(r.seq, r.severity, r.hash is None) for r in rows[:3]] == [
        (1, "info", True), (2, "info", True), (3, "info", True)]
    report = verify_journal(path)
    assert report.ok and report.anchor.seq == 3 and report.rows.checked == 2
    assert "before it existed" in report.anchor.reason


async def test_rows_written_without_the_chain_restart_it_on_record(path: Path) -> None:
    assert await write(path, 3, hash_chain=False) is None
    await write(path, 2)
    report = verify_journal(path)
    assert report.ok and report.anchor.seq == 3 and "without the chain" in report.anchor.reason
