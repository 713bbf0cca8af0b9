"""The journal against real SQLite files: group commit, order, reopen, the JSONL
copy, loud failures, and rows that survive SIGKILL of the writing process."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import os
import signal
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bus.codec import encode
from bus.protocol import OrderDecision
from kernel._journal_schema import SCHEMA_VERSION
from kernel._jsonl import JsonlCopy
from kernel.journal import (
    Journal,
    JournalClosedError,
    JournalEntry,
    JournalError,
    JournalWriteError,
    read_journal,
)

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("_journal_writer.py")
FOREVER_MS = 600_000.0
"""A linger no test could sit out: if a test passes with it, nothing lingered."""


def entry(n: int, *, topic: str = "test.entry", ts: float = 1_700_000_000.0) -> JournalEntry:
    return JournalEntry(ts=ts + n, topic=topic, source="test", kind="probe",
                        payload=msgspec.msgpack.encode({"n": n}))


def number(payload: bytes) -> Any:
    return msgspec.msgpack.decode(payload)["n"]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


async def test_concurrent_durable_appends_share_commits(path: Path) -> None:
    async with await Journal.open(path) as journal:
        seqs = await asyncio.gather(*(journal.append_durable(entry(n)) for n in range(500)))
        assert seqs == list(range(1, 501))
        assert journal.commits <= 10  # 500 rows, batches of up to 256: grouped, not one each
        rows = await journal.read(limit=1000)
    assert [(row.seq, number(row.payload)) for row in rows] == [(n + 1, n) for n in range(500)]


async def test_looping_producers_get_unique_ordered_seqs(path: Path) -> None:
    async with await Journal.open(path, batch_max_rows=32) as journal:

        async def produce(producer: int) -> list[int]:
            return [await journal.append_durable(entry(producer * 1000 + i)) for i in range(50)]

        per_producer = await asyncio.gather(*(produce(p) for p in range(16)))
        assert journal.commits < 16 * 50
    for seqs in per_producer:
        assert seqs == sorted(seqs)
    assert sorted(seq for seqs in per_producer for seq in seqs) == list(range(1, 801))
    rows = {row.seq: number(row.payload) for row in read_journal(path, limit=10_000)}
    for producer, seqs in enumerate(per_producer):
        assert [rows[seq] for seq in seqs] == [producer * 1000 + i for i in range(50)]


async def test_a_lone_durable_append_does_not_wait_for_company(path: Path) -> None:
    async with await Journal.open(path, batch_max_delay_ms=FOREVER_MS) as journal:
        async with asyncio.timeout(10):
            assert await journal.append_durable(entry(0)) == 1
            journal.append(entry(1))  # lingers for company...
            assert await journal.append_durable(entry(2)) == 3  # ...and goes with this one
            journal.append(entry(3))
            await journal.flush()  # a flush does not sit out the linger either
        assert journal.last_seq == 4


async def test_fire_and_forget_appends_commit_on_their_own(path: Path) -> None:
    async with await Journal.open(path, batch_max_delay_ms=1) as journal:
        journal.append(entry(0))
        async with asyncio.timeout(10):
            while journal.last_seq < 1:
                await asyncio.sleep(0.001)
        assert journal.pending == 0


async def test_fire_and_forget_appends_keep_their_order(path: Path) -> None:
    async with await Journal.open(path, batch_max_rows=64) as journal:
        for n in range(1000):
            journal.append(entry(n))
        await journal.flush()
        assert journal.last_seq == 1000
        assert journal.commits >= 1000 // 64
    rows = read_journal(path, limit=5000)
    assert [(row.seq, number(row.payload)) for row in rows] == [(n + 1, n) for n in range(1000)]


async def test_reopening_continues_the_seq(path: Path) -> None:
    async with await Journal.open(path) as journal:
        for n in range(5):
            await journal.append_durable(entry(n))
    async with await Journal.open(path, synchronous="full") as journal:
        assert journal.last_seq == 5
        assert await journal.append_durable(entry(5)) == 6
    assert [row.seq for row in read_journal(path)] == [1, 2, 3, 4, 5, 6]


async def test_close_commits_everything_queued(path: Path) -> None:
    journal = await Journal.open(path, batch_max_delay_ms=FOREVER_MS)
    for n in range(700):
        journal.append(entry(n))
    async with asyncio.timeout(10):
        await journal.close()
    assert [number(row.payload) for row in read_journal(path, limit=1000)] == list(range(700))


async def test_after_close_appends_are_refused(path: Path) -> None:
    journal = await Journal.open(path)
    await journal.close()
    await journal.close()  # idempotent
    with pytest.raises(JournalClosedError, match="closed"):
        journal.append(entry(0))
    with pytest.raises(JournalClosedError):
        await journal.append_durable(entry(0))
    with pytest.raises(JournalClosedError):
        await journal.read()
    await journal.flush()  # nothing left to wait for


async def test_reads_filter_by_seq_and_topic_prefix(path: Path) -> None:
    topics = ["order.request", "order.decision", "orders", "bot.heartbeat", "order", "order.fill"]
    async with await Journal.open(path) as journal:
        for n, topic in enumerate(topics):
            await journal.append_durable(entry(n, topic=topic))
        for read in (journal.read, _read_file(path)):
            assert [r.topic for r in await read(topic_prefix="order.")] == [
                "order.request", "order.decision", "order.fill"]
            assert [r.seq for r in await read(topic_prefix="order")] == [1, 2, 3, 5, 6]
            assert [r.seq for r in await read(after_seq=2, limit=2)] == [3, 4]
            assert await read(topic_prefix="risk.") == []
        row = (await journal.read(limit=1))[0]
    assert (row.topic, row.source, row.kind, row.ts) == ("order.request", "test", "probe", 1.7e9)


def _read_file(path: Path) -> Any:
    async def read(**options: Any) -> Any:
        return read_journal(path, **options)
    return read


async def test_jsonl_copy_has_one_line_per_row_in_the_utc_day_file(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    decision = OrderDecision(request_id="r-1", verdict="DENY", reason="daily loss limit reached",
                             code="daily_loss_limit", trading_state="HALTED")
    late = datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC).timestamp()
    async with await Journal.open(tmp_path / "journal.sqlite3", jsonl_dir=logs) as journal:
        journal.append(JournalEntry(late, "order.decision", "gateway", "order_decision",
                                    encode(decision)))
        journal.append(JournalEntry(late + 2, "bus.raw", "bus:peer", "undecodable", b"\xc1\x00"))
    first, second = (
        [json.loads(line) for line in (logs / name).read_text().splitlines()]
        for name in ("journal-2026-01-01.jsonl", "journal-2026-01-02.jsonl"))
    rows = read_journal(tmp_path / "journal.sqlite3")
    assert first == [{"seq": 1, "ts": late, "topic": "order.decision", "source": "gateway",
                      "kind": "order_decision", "severity": "warning",
                      "body": msgspec.to_builtins(decision) | {"type": "order_decision"},
                      "hash": (rows[0].hash or b"").hex()}]  # the tail verify holds it to
    assert len(second) == 1 and second[0]["hash"] == (rows[1].hash or b"").hex()
    assert (second[0]["seq"], second[0]["severity"]) == (2, "warning")
    assert base64.b64decode(second[0]["body"]) == b"\xc1\x00"
    assert "base64" in second[0]["note"]


async def test_the_jsonl_copy_follows_while_the_journal_runs(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    async with await Journal.open(tmp_path / "journal.sqlite3", jsonl_dir=logs) as journal:
        await journal.append_durable(entry(0, ts=0.0))
        copy = logs / "journal-1970-01-01.jsonl"
        async with asyncio.timeout(10):
            while not copy.exists() or not copy.read_bytes().endswith(b"\n"):
                await asyncio.sleep(0.005)
        assert json.loads(copy.read_text())["body"] == {"n": 0}


async def test_the_jsonl_lines_are_formatted_in_the_loops_next_turn_not_in_the_commit(
    tmp_path: Path,
) -> None:
    """The commit an order's reply waits on formats nothing: the loop does it in its
    next turn (after the replies), and no thread runs Python code beside the commit."""
    copy = JsonlCopy(tmp_path / "logs")
    try:
        copy.add(1, [entry(0, ts=0.0), entry(1, ts=0.0)], ["info", "info"])
        copy.add(3, [entry(2, ts=0.0)], ["info"])
        assert copy._files == {}  # nothing formatted yet
        await asyncio.sleep(0)
        assert copy._files["journal-1970-01-01.jsonl"].count(b"\n") == 3
    finally:
        await copy.aclose()
    lines = (tmp_path / "logs" / "journal-1970-01-01.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]


async def test_a_batch_queued_just_before_close_still_reaches_the_copy(tmp_path: Path) -> None:
    copy = JsonlCopy(tmp_path / "logs")
    copy.add(1, [entry(0, ts=0.0)], ["info"])
    await copy.aclose()
    assert (tmp_path / "logs" / "journal-1970-01-01.jsonl").read_text().count("\n") == 1


async def test_a_locked_file_fails_the_waiters_then_the_rest_is_retried(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = await Journal.open(path, busy_timeout_s=0.05, batch_max_delay_ms=FOREVER_MS)
    assert await journal.append_durable(entry(0)) == 1
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        async with asyncio.timeout(10):
            journal.append(entry(1))
            with pytest.raises(JournalWriteError, match="could not commit") as failure:
                await journal.append_durable(entry(2))
            assert isinstance(failure.value.__cause__, sqlite3.OperationalError)
            assert journal.pending == 1  # the fire-and-forget entry is kept for a retry
            with pytest.raises(JournalWriteError):
                await journal.flush()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    async with asyncio.timeout(10):
        await journal.flush()
        await journal.close()
    assert [(row.seq, number(row.payload)) for row in read_journal(path)] == [(1, 0), (2, 1)]
    assert "could not commit" in caplog.text
    assert "database is locked" in caplog.text


async def test_an_error_that_cannot_pass_stops_the_journal_loudly(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = await Journal.open(path)
    await journal.append_durable(entry(0))
    with closing(sqlite3.connect(path, isolation_level=None)) as intruder:
        intruder.execute("INSERT INTO journal (seq, ts, topic, source, kind, payload) "
                         "VALUES (2, 0, 'x', 'x', 'x', x'')")  # takes seq 2
    with pytest.raises(JournalWriteError) as failure:
        await journal.append_durable(entry(1))
    assert isinstance(failure.value.__cause__, sqlite3.IntegrityError)
    with pytest.raises(JournalWriteError, match="stopped"):
        journal.append(entry(2))
    with pytest.raises(JournalWriteError):
        await journal.flush()
    with pytest.raises(JournalWriteError, match="closed after a write error"):
        await journal.close()
    assert any(record.levelno == logging.CRITICAL for record in caplog.records)


async def test_entries_sqlite_would_refuse_are_refused_at_append(path: Path) -> None:
    async with await Journal.open(path) as journal:
        with pytest.raises(TypeError, match="bytes payload"):
            journal.append(JournalEntry(0.0, "t", "s", "k", "text"))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="finite ts"):
            journal.append(JournalEntry(math.nan, "t", "s", "k", b""))
        assert journal.pending == 0


async def test_the_schema_is_versioned_and_indexed(path: Path) -> None:
    await (await Journal.open(path)).close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexed = {row[1] for row in db.execute("PRAGMA index_list(journal)")}
        columns = {db.execute(f"PRAGMA index_info({name})").fetchone()[2] for name in indexed}
    assert columns == {"topic", "ts"}  # the topic index is partial (test_journal_topic_index.py)


async def test_a_file_from_a_newer_version_is_refused(path: Path) -> None:
    await (await Journal.open(path)).close()
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match="newer"):
        await Journal.open(path)


def test_reading_a_missing_journal_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no journal at"):
        read_journal(tmp_path / "absent.sqlite3")


async def test_acknowledged_rows_survive_sigkill(path: Path) -> None:
    path.parent.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(WRITER), str(path), "16", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    acked: dict[int, int] = {}
    async with asyncio.timeout(30):
        while len(acked) < 3000:
            line = await child.stdout.readline()
            if not line:
                break
            seq, n = map(int, line.split())
            acked[seq] = n
        child.kill()  # SIGKILL on POSIX (TerminateProcess on Windows): no clean-up at all
        rest, errors = await asyncio.gather(child.stdout.read(), child.stderr.read())
        await child.wait()
    assert len(acked) >= 3000, f"the writer died early: {errors.decode(errors='replace')}"
    if hasattr(signal, "SIGKILL"):
        assert child.returncode == -signal.SIGKILL
    for line in rest.split(b"\n")[:-1]:  # complete lines only: the kill can cut the last
        seq, n = map(int, line.split())
        acked[seq] = n
    rows = {row.seq: row for row in read_journal(path, limit=10**9)}
    assert [seq for seq in acked if seq not in rows] == []
    assert all(number(rows[seq].payload) == n for seq, n in acked.items())
    async with await Journal.open(path) as journal:
        assert journal.last_seq == max(rows) >= max(acked)
        assert await journal.append_durable(entry(0)) == max(rows) + 1


async def test_commit_now_writes_a_burst_from_the_loop_in_one_commit(path: Path) -> None:
    async with await Journal.open(path, batch_max_delay_ms=FOREVER_MS) as journal:
        commits = journal.commits
        futures = [journal.append_waitable(entry(n)) for n in range(100)]
        assert journal.commit_now()
        assert [f.result() for f in futures] == list(range(1, 101))  # done, no loop turn
        assert journal.commits == commits + 1
        assert journal.pending == 0
    assert [number(row.payload) for row in read_journal(path)] == list(range(100))


async def test_a_hushed_burst_is_committed_without_waking_the_writer(path: Path) -> None:
    async with await Journal.open(path, batch_max_delay_ms=FOREVER_MS) as journal:
        journal.hush()
        futures = [journal.append_waitable(entry(n)) for n in range(10)]
        journal.append(entry(10))
        assert journal.commit_now()
        assert [f.result() for f in futures] == list(range(1, 11))
        journal.hush(False)
        assert not journal._state.wake.is_set() and journal.pending == 0
        journal.hush()
        journal.append(entry(11))
        journal.hush(False)  # no commit_now came: the writer takes the row
        async with asyncio.timeout(10):
            await journal.flush()
    assert [number(row.payload) for row in read_journal(path)] == list(range(12))


async def test_commit_now_leaves_the_work_to_the_writer_when_it_cannot(path: Path) -> None:
    async with await Journal.open(path, synchronous="full") as journal:  # no inline writer
        journal.hush()  # a hushed burst too: the writer is woken for it
        future = journal.append_waitable(entry(0))
        assert not journal.commit_now()
        async with asyncio.timeout(10):
            assert await future == 1
    journal = await Journal.open(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the write lock is taken: the commit fails
    try:
        journal.hush()
        future = journal.append_waitable(entry(1))
        assert not journal.commit_now()
        async with asyncio.timeout(10):
            with pytest.raises(JournalWriteError):
                await future  # the writer tried again and told the waiter
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    async with asyncio.timeout(10):
        assert await journal.append_durable(entry(2)) == 2
        await journal.close()


async def test_the_wal_is_moved_into_the_file_off_the_loop(path: Path) -> None:
    async with await Journal.open(path) as journal:
        size = path.stat().st_size
        for n in range(500):
            journal.append(JournalEntry(ts=1_700_000_000.0 + n, topic="test.big", source="t",
                                        kind="probe", payload=bytes(2000)))
        await journal.flush()
        assert path.stat().st_size == size  # the loop's commits leave the rows in the WAL
        async with asyncio.timeout(10):
            while path.stat().st_size == size:  # until a background checkpoint copies them
                await asyncio.sleep(0.05)
    assert len(read_journal(path, limit=1000)) == 500


async def test_commit_now_leaves_an_error_that_cannot_pass_to_the_writer(path: Path) -> None:
    journal = await Journal.open(path)
    await journal.append_durable(entry(0))
    with closing(sqlite3.connect(path, isolation_level=None)) as intruder:
        intruder.execute("INSERT INTO journal (seq, ts, topic, source, kind, payload) "
                         "VALUES (2, 0, 'x', 'x', 'x', x'')")  # takes seq 2
    future = journal.append_waitable(entry(1))
    assert not journal.commit_now()
    async with asyncio.timeout(10):
        with pytest.raises(JournalWriteError):
            await future  # the writer met the same error, stopped, and said so
    with pytest.raises(JournalWriteError, match="closed after a write error"):
        await journal.close()
