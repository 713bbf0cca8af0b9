"""Retention on a real journal: old rows go to gzip JSONL per day, then away, and the
chain stays verifiable, in the file and across the archives."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.audit.retention import archived_rows, plan, retain, write_archives
from kernel.console.chain_verify import verify_journal
from kernel.journal import Journal, JournalEntry, read_journal

DAY = 86_400.0
D1 = datetime(2024, 5, 1, tzinfo=UTC).timestamp()


def entry(ts: float, n: int) -> JournalEntry:
    return JournalEntry(ts, "test.row", "test", "probe", bytes([0x80 | 1, 0xA1, 0x6E, n % 128]))


async def three_days(path: Path) -> Journal:
    """Rows 1-4 on May 1st, 5-8 on May 2nd, 9-12 on May 3rd (UTC)."""
    journal = await Journal.open(path)
    for day in range(3):
        for n in range(4):
            journal.append(entry(D1 + day * DAY + 3600 * (n + 1), day * 4 + n))
    await journal.flush()
    return journal


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


async def test_old_days_are_archived_then_deleted_and_verify_still_holds(
    path: Path, tmp_path: Path,
) -> None:
    archive = tmp_path / "archive"
    journal = await three_days(path)
    try:
        done = await retain(journal, archive_dir=archive, cutoff_ts=D1 + 2 * DAY,
                            utc_offset_s=0, now=D1 + 3 * DAY)
        assert done is not None and (done.archived, done.deleted, done.through_seq) == (8, 8, 8)
        assert sorted(p.name for p in archive.iterdir()) == [
            "journal-2024-05-01-000000000001.jsonl.gz", "journal-2024-05-02-000000000005.jsonl.gz"]
        assert [r.seq for r in read_journal(path)] == [9, 10, 11, 12]
        journal.append(entry(D1 + 3 * DAY, 99))  # the writer goes on from its head
        await journal.flush()
    finally:
        await journal.close()
    report = verify_journal(path, archive_dir=archive)
    assert report.ok, report.problems
    assert report.anchor.seq == 8 and "archived" in report.anchor.reason
    assert (report.rows.first_seq, report.rows.last_seq, report.archived_rows) == (9, 13, 8)
    with gzip.open(archive / "journal-2024-05-02-000000000005.jsonl.gz", "rt") as lines:
        first = json.loads(lines.readline())
    assert first["seq"] == 5 and first["topic"] == "test.row" and len(first["hash"]) == 64
    assert first["body"] == {"n": 4}


async def test_the_newest_row_is_never_deleted_so_the_seq_goes_on(path: Path,
                                                                 tmp_path: Path) -> None:
    journal = await three_days(path)
    try:
        done = await retain(journal, archive_dir=tmp_path / "a", cutoff_ts=D1 + 10 * DAY,
                            utc_offset_s=0, now=D1 + 10 * DAY)
        assert done is not None and done.through_seq == 11
    finally:
        await journal.close()
    async with await Journal.open(path) as again:
        assert again.last_seq == 12
        assert await again.append_durable(entry(D1 + 10 * DAY, 1)) == 13
    assert verify_journal(path, archive_dir=tmp_path / "a").ok


async def test_nothing_due_is_nothing_done(path: Path, tmp_path: Path) -> None:
    journal = await three_days(path)
    try:
        assert await retain(journal, archive_dir=tmp_path / "a", cutoff_ts=D1,
                            utc_offset_s=0, now=D1) is None
    finally:
        await journal.close()
    assert not (tmp_path / "a").exists()


async def test_a_run_cut_short_after_anchoring_is_finished_next_time(
    path: Path, tmp_path: Path,
) -> None:
    """Archived and anchored, then the kernel died before deleting: nothing is lost,
    nothing is counted twice, and the next run deletes what is left."""
    archive = tmp_path / "archive"
    journal = await three_days(path)
    try:
        due = plan(path, D1 + DAY)
        assert due is not None and due.head is not None
        write_archives(path, archive, due.through_seq, 0)
        await journal.anchor(due.through_seq, due.head, "test: crash before delete", D1)
        assert verify_journal(path, archive_dir=archive).ok  # rows 1-4 both places: fine
        done = await retain(journal, archive_dir=archive, cutoff_ts=D1 + DAY, utc_offset_s=0,
                            now=D1 + DAY)
        assert done is not None and done.deleted == 4
    finally:
        await journal.close()
    assert [r.seq for r in archived_rows(archive)] == [1, 2, 3, 4]
    assert verify_journal(path, archive_dir=archive).ok


async def test_an_edited_archive_is_found(path: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    journal = await three_days(path)
    try:
        await retain(journal, archive_dir=archive, cutoff_ts=D1 + 2 * DAY, utc_offset_s=0,
                     now=D1 + 2 * DAY)
    finally:
        await journal.close()
    name = archive / "journal-2024-05-01-000000000001.jsonl.gz"
    with gzip.open(name, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    rows[2]["ts"] += 60  # move one event by a minute
    with gzip.open(name, "wt") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    report = verify_journal(path, archive_dir=archive)
    assert report.rows.ok and not report.ok
    assert "archive" in report.problems[0] and "seq 3" in report.problems[0]


async def test_deleting_rows_that_are_not_archived_is_refused(path: Path) -> None:
    journal = await three_days(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="archived behind the chain anchor"):
            await journal.forget_through(5)
        assert journal.last_seq == 12
    finally:
        await journal.close()
    assert len(read_journal(path)) == 12
