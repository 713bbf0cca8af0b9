"""When the journal cannot take a row, trading fails closed and the log says where."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bus.protocol import Message, OrderDecision
from kernel.actor import Actor
from kernel.exit_codes import EXIT_START_FAILED
from kernel.journal import Journal, JournalError, read_journal
from tests.conftest import KernelHarness
from tests.integration.test_audit_chain import entry
from tests.integration.test_kernel import beat
from tests.support.link import RawBot, order
from tests.support.platforms import FULL_DISK
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


@FULL_DISK
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


class ReadsEverything(Actor):
    """Reads the whole journal on each heartbeat, as an audit of a long day would."""

    name: ClassVar[str] = "reader"
    subscriptions: ClassVar[tuple[str, ...]] = ("bot.heartbeat",)

    async def handle(self, message: Message) -> Sequence[Message]:
        await asyncio.to_thread(read_journal, self.ctx.journal.path, limit=10**7)
        return []


def damage_pages_in_the_middle(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as file:
        for page in range(pages // 3, pages // 3 + 3):
            file.seek(page * size)
            file.write(os.urandom(size))


async def test_a_damaged_page_met_while_running_stops_the_kernel_with_exit_3(
    start_kernel: Any, tmp_path: Path,
) -> None:
    """Not four crashes and exit 4: the first actor that meets the damage stops the
    kernel, which names the file and the fix and closes the gate."""
    path = tmp_path / "data" / "journal.sqlite3"
    async with await Journal.open(path) as journal:
        for n in range(20_000):
            journal.append(entry(n))
    harness: KernelHarness = await start_kernel(actors=[ReadsEverything])
    damage_pages_in_the_middle(path)
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(beat(1))
        code = await asyncio.wait_for(harness.task, 15)
    finally:
        bot.close()
    error = harness.kernel.journal_error
    assert code == 3 == EXIT_START_FAILED, error
    assert f"cannot open the journal {path}" in error and "malformed" in error
    assert "move it aside" in error
    assert harness.kernel.halt_reason == ""  # not an actor that gave up after restarts


async def test_a_writer_that_stops_for_good_stops_the_kernel_with_exit_3(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel()
    path = harness.kernel.settings.journal_path
    with closing(sqlite3.connect(path, isolation_level=None)) as db:  # an error no retry mends
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON journal WHEN NEW.topic = "
                   "'bot.heartbeat' BEGIN SELECT RAISE(ABORT, 'refused by a test'); END")
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.send(beat(1))
        code = await asyncio.wait_for(harness.task, 15)
    finally:
        bot.close()
    error = harness.kernel.journal_error
    assert code == 3, error
    assert f"the journal {path} cannot write any more" in error
    assert "refused by a test" in error and "Fix:" in error
