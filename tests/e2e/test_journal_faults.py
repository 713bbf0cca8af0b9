"""The journal's file in trouble, as ``kernel run`` and ``kernel audit verify`` meet it:
a read-only data directory, a read-only evidence copy, damaged pages inside the file."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from kernel.journal import Journal
from tests.integration.test_audit_chain import entry
from tests.support.platforms import READ_ONLY_FOLDER
from tests.support.processes import ROOT, KernelProcess, kernel_command
from tests.support.readonly import read_only

pytestmark = pytest.mark.timeout(120)

WRITE_AND_DIE = """
import asyncio, os, sys
from pathlib import Path
from kernel.journal import Journal
from tests.integration.test_audit_chain import entry

async def main(path: Path) -> None:
    journal = await Journal.open(path)
    for n in range(int(sys.argv[2])):
        journal.append(entry(n))
    await journal.flush()
    os._exit(0)  # killed: the rows stay in the WAL, beside its index

asyncio.run(main(Path(sys.argv[1])))
"""


def journal_rows(path: Path, count: int, *, killed: bool) -> None:
    if killed:
        subprocess.run([sys.executable, "-c", WRITE_AND_DIE, str(path), str(count)], cwd=ROOT,
                       check=True, timeout=60)
        return

    async def write() -> None:
        async with await Journal.open(path) as journal:
            for n in range(count):
                journal.append(entry(n))
    asyncio.run(write())


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300"})


@READ_ONLY_FOLDER
def test_a_read_only_data_dir_stops_kernel_run_with_exit_3_naming_it(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    data = tmp_path / "data"
    journal_rows(data / "journal.sqlite3", 5, killed=False)
    with read_only(data) as wrap:
        done = run(wrap(kernel_command("--config-dir", str(process.config_dir), "run")))
    said = " ".join(done.stderr.split())
    assert done.returncode == 3, said
    assert "Traceback" not in said
    assert f"cannot use the data directory {data}" in said
    assert "Fix: make the folder writable" in said


@READ_ONLY_FOLDER
@pytest.mark.parametrize("killed", [False, True], ids=["closed", "killed-with-wal"])
def test_verify_reads_a_read_only_evidence_copy(tmp_path: Path, killed: bool) -> None:
    process = KernelProcess(tmp_path)
    data = tmp_path / "data"
    journal_rows(data / "journal.sqlite3", 40, killed=killed)
    assert (data / "journal.sqlite3-wal").exists() == killed
    with read_only(data) as wrap:
        done = run(wrap(kernel_command("--config-dir", str(process.config_dir),
                                       "audit", "verify")))
        report = run(wrap(kernel_command("--config-dir", str(process.config_dir), "report",
                                         "--day", "2024-05-01", "--no-publish")))
    said = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "40 rows (seq 1-40)" in said and "the chain holds" in said
    assert report.returncode == 0, report.stderr
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith("journal.sqlite3")) \
        == [], "nothing may be written beside the evidence"


def damage_pages_in_the_middle(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as file:
        for page in (pages // 2, pages // 2 + 1):
            file.seek(page * size)
            file.write(os.urandom(size))


def test_damaged_pages_inside_the_file_stop_kernel_run_with_exit_3_and_the_fix(
    tmp_path: Path,
) -> None:
    process = KernelProcess(tmp_path)
    journal_rows(process.journal_path, 20_000, killed=False)
    damage_pages_in_the_middle(process.journal_path)
    done = run(kernel_command("--config-dir", str(process.config_dir), "run"))
    said = " ".join(done.stderr.split())
    assert done.returncode == 3, said[-3000:]
    assert f"cannot open the journal {process.journal_path}" in said
    assert "malformed" in said and "Fix: the file is damaged" in said and "move it aside" in said
    assert "Traceback" not in said
