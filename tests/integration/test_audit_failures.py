"""When the journal cannot take a row, trading fails closed and the log says where."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bus.protocol import OrderDecision
from kernel.journal import Journal, JournalEntry, JournalError
from tests.support.link import RawBot, order


async def test_a_locked_journal_denies_with_journal_unavailable_then_recovers(
    start_kernel: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    kernel = await start_kernel()
    path = kernel.kernel.settings.journal_path
    bot = RawBot(kernel.endpoints["bot_link"])
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        await bot.send(order("while-locked"))
        reply = await bot.recv(timeout_s=15)
        assert isinstance(reply, OrderDecision)
        assert (reply.verdict, reply.code) == ("DENY", "journal_unavailable")
        assert reply.request_id == "while-locked"
        blocker.execute("ROLLBACK")
        await bot.send(order("after"))
        again = await bot.recv(timeout_s=15)
        assert isinstance(again, OrderDecision) and again.code != "journal_unavailable"
    finally:
        blocker.close()
        bot.close()
    assert f"the journal {path} could not commit" in caplog.text
    assert "database is locked" in caplog.text


async def test_a_full_disk_fails_the_durable_append_and_names_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """A size-capped file (SQLite's max_page_count, set on the writer's own connection,
    hence the private access) stands in for a full disk."""
    path = tmp_path / "journal.sqlite3"
    journal = await Journal.open(path, batch_max_delay_ms=0)
    try:
        await journal.append_durable(_entry(b"x"))
        pages = await journal._db.execute_fetchall("PRAGMA page_count")
        await journal._db.execute(
            f"PRAGMA max_page_count = {next(iter(pages))[0]}")
        with pytest.raises(JournalError, match="could not commit") as failure:
            async with asyncio.timeout(10):
                for _ in range(1000):
                    await journal.append_durable(_entry(b"y" * 4000))
        assert "full" in str(failure.value.__cause__)
    finally:
        await journal._db.execute("PRAGMA max_page_count = 1073741823")
        await journal.close()
    assert f"the journal {path} could not commit" in caplog.text


async def test_a_corrupt_file_is_refused_at_open_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"garbage " * 1000)
    with pytest.raises(JournalError) as refused:
        await Journal.open(path)
    text = str(refused.value)
    assert str(path) in text and "not a database" in text and "move it aside" in text


def _entry(payload: bytes) -> JournalEntry:
    return JournalEntry(1.0, "t", "s", "k", payload)
