"""Cuts the chain alone cannot see, and how ``kernel audit verify`` and ``kernel run``
find them: rows cut off the end (held against the head file, the JSONL copy and the
daily reports), and rows cut off the start behind a forged anchor (held against the
archives)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import msgspec
import pytest

from agents.audit.messages import DailyAuditCompleted
from agents.audit.retention import retain
from bus.codec import encode
from kernel.console.chain_verify import verify_journal
from kernel.journal import Journal, JournalEntry, JournalError, read_journal
from kernel.journal_tail import head_path
from risk.days import day_of
from tests.integration.test_audit_cli import Setup, journal_a_trade

NOW = time.time()
TODAY = day_of(NOW, 0)


def tamper(path: Path, *statements: str) -> None:
    """What someone with the file and the sqlite3 shell can do."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


async def rows(path: Path, count: int, *, logs: Path, ts: float = NOW - 30) -> None:
    async with await Journal.open(path, jsonl_dir=logs) as journal:
        for n in range(count):
            journal.append(JournalEntry(ts + n * 0.01, "test.row", "test", "probe",
                                        bytes([0x80 | 1, 0xA1, 0x6E, n % 128])))


async def a_day_with_its_audit(setup: Setup, capsys: pytest.CaptureFixture[str]) -> int:
    """A trade, the day's report (file and journal row), then more rows: as a kernel leaves
    it. Returns the seq the audit recorded as the chain head."""
    logs = setup.root / "logs"
    await journal_a_trade(setup.journal, NOW - 60, jsonl_dir=logs)
    code, out, _ = setup.run(capsys, "report", "--format", "json", "--no-publish")
    assert code == 0
    audit = msgspec.json.decode(out, type=DailyAuditCompleted)
    code, _, _ = setup.run(capsys, "report", "--no-publish")  # the Markdown file, same head
    assert code == 0 and audit.chain_seq == 9
    async with await Journal.open(setup.journal, jsonl_dir=logs) as journal:
        await journal.append_durable(JournalEntry(NOW - 40, audit.topic, "auditor",
                                                  "daily_audit", encode(audit)))
    await rows(setup.journal, 5, logs=logs)
    return audit.chain_seq


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


async def test_the_last_rows_cut_off_are_found_against_the_head_file_and_the_jsonl_copy(
    setup: Setup, capsys: pytest.CaptureFixture[str],
) -> None:
    await a_day_with_its_audit(setup, capsys)
    code, out, _ = setup.run(capsys, "audit", "verify")
    said = " ".join(out.split())
    assert code == 0 and "the chain holds" in said, said
    assert "the journal ends at seq 15" in said and "1 head file record(s): 1 agree" in said, said
    tamper(setup.journal, "DROP TRIGGER journal_delete_archived_only",
           "DELETE FROM journal WHERE seq > 10")
    code, out, _ = setup.run(capsys, "audit", "verify")
    said = " ".join(out.split())
    assert code == 6, said
    head = head_path(setup.journal)
    assert (f"BROKEN head file {head} records seq 15" in said
            and "the journal ends at seq 10: rows 11-15 were cut from the end" in said)
    assert f"BROKEN JSONL copy {setup.root / 'logs'}" in said
    code, out, _ = setup.run(capsys, "audit", "verify", "--json")
    assert code == 6 and any(t["verdict"] == "disagrees" and t["source"].startswith("head")
                             for t in msgspec.json.decode(out)["tail"])


async def test_a_cut_through_the_audit_is_found_against_the_report_alone(
    setup: Setup, capsys: pytest.CaptureFixture[str],
) -> None:
    """Every row back through the recorded head goes, the audit row with it, and so do
    the head file and the JSONL copy: the report kept elsewhere still tells."""
    recorded = await a_day_with_its_audit(setup, capsys)
    tamper(setup.journal, "DROP TRIGGER journal_delete_archived_only",
           f"DELETE FROM journal WHERE seq >= {recorded}")
    head_path(setup.journal).unlink()
    for copy in (setup.root / "logs").glob("journal-*.jsonl"):
        copy.unlink()
    code, out, _ = setup.run(capsys, "audit", "verify")
    said = " ".join(out.split())
    assert code == 6, said
    assert f"BROKEN report {setup.root / 'reports' / f'audit-{TODAY}.md'} records seq 9" in said
    assert "the journal ends at seq 8: row 9 was cut from the end" in said
    assert "note: no head file at" in said and "note: no JSONL copy in" in said


async def test_the_kernel_refuses_a_journal_that_ends_before_its_head_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "journal.sqlite3"
    await rows(path, 12, logs=tmp_path / "logs")
    tamper(path, "DROP TRIGGER journal_delete_archived_only", "DELETE FROM journal WHERE seq > 7")
    with pytest.raises(JournalError) as refused:
        await (await Journal.open(path)).close()  # closed if it ever opened
    text = str(refused.value)
    assert f"the journal {path} ends at seq 7, but its head file {head_path(path)}" in text
    assert "rows 8-12 were cut from the end" in text
    assert "Fix: restore the journal from a backup; or" in text
    assert f"mv {head_path(path)} {head_path(path)}.lost" in text
    head_path(path).rename(head_path(path).with_name("journal.sqlite3.head.lost"))
    async with await Journal.open(path) as journal:  # the loss accepted on purpose
        assert await journal.append_durable(JournalEntry(NOW, "t", "s", "k", b"\x80")) == 8


async def test_a_rewritten_tail_disagrees_with_the_head_file_too(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    await rows(path, 6, logs=tmp_path / "logs")
    tamper(path, "DROP TRIGGER journal_append_only",
           "UPDATE journal SET hash = zeroblob(32) WHERE seq = 6")
    report = verify_journal(path, log_dir=tmp_path / "logs")
    assert not report.ok
    assert any("head file" in p and "the history was rewritten" in p for p in report.problems)
    with pytest.raises(JournalError, match="the rows up to it were rewritten"):
        await (await Journal.open(path)).close()


async def test_rows_cut_from_the_start_behind_a_forged_anchor_are_found(
    setup: Setup, capsys: pytest.CaptureFixture[str],
) -> None:
    logs = setup.root / "logs"
    await rows(setup.journal, 10, logs=logs)
    row6 = read_journal(setup.journal)[5]
    tamper(setup.journal,  # the triggers allow inserts, then deletes behind the new anchor
           "INSERT INTO journal_anchor VALUES (6, x'" + (row6.hash or b"").hex() + "', 0, "
           "'rows 1-6 archived to journal-x.jsonl.gz')",
           "DELETE FROM journal WHERE seq <= 6")
    for args in (("audit", "verify"), ("audit", "verify", "--archives")):
        code, out, _ = setup.run(capsys, *args)
        said = " ".join(out.split())
        assert code == 6, (args, said)
        assert "the anchor at seq 6 (rows 1-6 archived to journal-x.jsonl.gz) is backed by " \
               "no archive" in said or "rows 1-6 left the journal but are in no archive" in said
    code, out, _ = setup.run(capsys, "audit", "verify", "--archives")
    said = " ".join(out.split())
    assert f"rows 1-6 left the journal but are in no archive in {setup.root / 'data' / 'archive'}" \
        in said
    assert "archived rows checked: 0" in said and "the chain holds" not in said


async def test_an_anchor_whose_hash_the_archive_does_not_back_is_found(
    setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """A real retention run, then a second anchor forged further on: its rows were never
    archived, so the archive cannot reach its hash."""
    archive = setup.root / "data" / "archive"
    await rows(setup.journal, 8, logs=setup.root / "logs", ts=NOW - 3 * 86_400)
    await rows(setup.journal, 8, logs=setup.root / "logs")
    async with await Journal.open(setup.journal) as journal:
        done = await retain(journal, archive_dir=archive, cutoff_ts=NOW - 86_400,
                            utc_offset_s=0, now=NOW)
    assert done is not None and done.through_seq == 8
    code, out, _ = setup.run(capsys, "audit", "verify", "--archives")
    assert code == 0 and "archived rows checked: 8" in out, out
    row12 = read_journal(setup.journal)[3]
    assert row12.seq == 12
    tamper(setup.journal, "INSERT INTO journal_anchor VALUES (12, x'"
           + (row12.hash or b"").hex() + "', 0, 'rows 9-12 archived')",
           "DELETE FROM journal WHERE seq <= 12")
    code, out, _ = setup.run(capsys, "audit", "verify", "--archives")
    said = " ".join(out.split())
    assert code == 6 and f"rows 9-12 left the journal but are in no archive in {archive}" in said
    code, out, _ = setup.run(capsys, "audit", "verify")
    said = " ".join(out.split())
    assert code == 6 and "the anchor at seq 12 (rows 9-12 archived) is backed by no archive" \
        in said
