"""When the journal cannot take a row, trading fails closed and the log says where."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bus.protocol import OrderDecision
from kernel.journal import Journal, JournalError
from tests.support.link import RawBot, order
from tests.support.processes import ROOT


async def test_a_locked_journal_denies_with_journal_unavailable_then_recovers(
    start_kernel: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    kernel = await start_kernel()
    path = kernel.kernel.settings.journal_path
    bot = RawBot(kernel.endpoints["bot_link"])
    await bot.greet()
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


FULL_DISK_CHILD = """
import asyncio, resource, sys
from pathlib import Path
from kernel.journal import Journal, JournalEntry, JournalError

async def main(path: Path) -> None:
    journal = await Journal.open(path)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256_000, 256_000))  # the disk is now full
    try:
        for n in range(10_000):
            await journal.append_durable(JournalEntry(1.0, "t", "s", "k", bytes(4000)))
    except JournalError as exc:
        print(f"refused: {exc} / {exc.__cause__}")
    finally:
        await journal.close()

asyncio.run(main(Path(sys.argv[1])))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
async def test_a_full_disk_fails_the_durable_append_and_names_the_file(tmp_path: Path) -> None:
    """A file-size limit on a child process stands in for a full disk, whichever
    connection the journal writes with."""
    path = tmp_path / "journal.sqlite3"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FULL_DISK_CHILD, str(path), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    said = out.decode() + err.decode()
    assert f"refused: the journal {path} could not commit" in said, said[-2000:]
    assert "disk I/O error" in said or "full" in said


async def test_a_corrupt_file_is_refused_at_open_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"garbage " * 1000)
    with pytest.raises(JournalError) as refused:
        await Journal.open(path)
    text = str(refused.value)
    assert str(path) in text and "not a database" in text and "move it aside" in text
