"""Who is told what when a journal batch commits or fails (no SQLite involved)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from kernel._journal_state import JournalWriteError, WriterState


def state(*, batch_rows: int = 8, last_seq: int = 10) -> WriterState:
    return WriterState(Path("journal.sqlite3"), last_seq=last_seq, batch_rows=batch_rows)


def future() -> asyncio.Future[int]:
    return asyncio.get_running_loop().create_future()


async def test_a_commit_hands_out_seqs_in_order() -> None:
    s = state()
    durable, cancelled = future(), future()
    s.enqueue("a", None)
    s.enqueue("b", durable)
    s.enqueue("c", cancelled)
    cancelled.cancel()
    s.committed(list(s.pending))
    assert durable.result() == 12
    assert (s.last_seq, s.commits, len(s.pending)) == (13, 1, 0)
    assert not s.urgent()


async def test_a_flush_waits_for_what_was_appended_before_it() -> None:
    s = state()
    flush: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for name in "abc":
        s.enqueue(name, None)
    s.add_flush_waiter(flush)
    s.enqueue("d", None)
    s.committed(list(s.pending)[:2])
    assert not flush.done()
    s.committed(list(s.pending)[:1])
    assert flush.done()


async def test_a_failed_commit_tells_the_waiters_and_keeps_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = state()
    durable = future()
    flush: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    s.enqueue("a", None)
    s.enqueue("b", durable)
    s.enqueue("c", None)
    s.add_flush_waiter(flush)
    s.enqueue("d", None)
    error = sqlite3.OperationalError("database is locked")
    s.failed(list(s.pending)[:3], error, attempt=1, giving_up=False)
    for failed in (durable, flush):
        with pytest.raises(JournalWriteError, match="could not commit 3 rows") as info:
            failed.result()
        assert info.value.__cause__ is error
    assert [item[1] for item in s.pending] == ["a", "c", "d"]
    assert s.last_seq == 10 and not s.urgent()
    assert "3 entries kept in memory" in caplog.text


async def test_urgent_when_someone_waits_or_the_batch_is_full() -> None:
    s = state(batch_rows=2)
    s.enqueue("a", None)
    assert not s.urgent()
    s.enqueue("b", None)
    assert s.urgent()
    s.committed(list(s.pending))
    s.enqueue("c", future())
    assert s.urgent() and s.wake.is_set()


async def test_a_fault_fails_everyone_and_is_logged_as_critical(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = state()
    durable = future()
    s.enqueue("a", durable)
    s.enqueue("b", None)
    with caplog.at_level(logging.CRITICAL, logger="kernel.journal"):
        s.fault_all(sqlite3.IntegrityError("UNIQUE constraint failed"))
    with pytest.raises(JournalWriteError, match="stopped"):
        durable.result()
    assert not s.pending and s.fault is not None
    assert "2 queued entries were not written" in caplog.text


async def test_hushed_appends_wake_no_writer_until_the_hush_ends() -> None:
    """The gateway hushes the writer in a burst it commits itself; ending the hush
    wakes the writer only for what is still queued."""
    s = state()
    s.hush()
    s.enqueue("a", future())
    s.enqueue("b", None)
    assert not s.wake.is_set() and s.urgent()
    s.committed(list(s.pending))
    s.hush(False)
    assert not s.wake.is_set()  # nothing left: no turn for the writer
    s.hush()
    s.enqueue("c", None)
    s.hush(False)
    assert s.wake.is_set()  # left queued: the writer takes it
