"""The data-directory lock and pid files, across real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kernel.lockfile import DataDirLock, LockHeld, PidFile, PidRecord
from tests.support.processes import ROOT

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kernel.lockfile import DataDirLock
    lock = DataDirLock.acquire(Path(sys.argv[1]))
    print("locked", flush=True)
    sys.stdin.readline()
    if sys.argv[2] == "release":
        lock.release()
    else:
        import os
        os._exit(9)  # die holding it, as a SIGKILLed kernel would
""")


def holder(data_dir: Path, how: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir), how], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("how", ["release", "die"])
def test_the_lock_names_its_holder_and_is_free_once_the_holder_is_gone(
    tmp_path: Path, how: str,
) -> None:
    proc = holder(tmp_path, how)
    try:
        with pytest.raises(LockHeld) as info:
            DataDirLock.acquire(tmp_path)
        assert info.value.holder is not None and info.value.holder.pid == proc.pid
        text = str(info.value)
        assert f"another kernel (pid {proc.pid}" in text and str(tmp_path) in text
        assert f"kill {proc.pid}" in text and "data_dir in paths.yaml" in text
    finally:
        proc.communicate("\n", timeout=10)
    with DataDirLock.acquire(tmp_path) as lock:  # released, or dropped by the OS on death
        assert lock.held
        assert PidFile(tmp_path / "kernel.pid").read().pid == os.getpid()
    assert not lock.held and not (tmp_path / "kernel.pid").exists()


def test_one_process_cannot_take_the_lock_twice(tmp_path: Path) -> None:
    with DataDirLock.acquire(tmp_path), pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
        DataDirLock.acquire(tmp_path)
    DataDirLock.acquire(tmp_path).release()


def test_pid_files_round_trip_and_a_torn_one_reads_as_none(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path / "bot.pid")
    assert pid_file.read() is None
    record = PidRecord(pid=123, create_time=1.5, argv=["python", "bot.py"], started_at=2.0)
    pid_file.write(record)
    assert pid_file.read() == record
    (tmp_path / "bot.pid").write_text('{"pid": 12')
    assert pid_file.read() is None
    pid_file.clear()
    pid_file.clear()
    assert not (tmp_path / "bot.pid").exists()
