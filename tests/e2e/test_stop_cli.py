"""``kernel stop``: a kernel with no window to press Ctrl-C in stops in order, bot first."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest

from kernel.journal import read_journal
from kernel.lockfile import kernel_running
from tests.support.processes import KernelProcess
from tests.support.tap_process import kernel_with_bot, wait_bot_running

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


def states(kernel: KernelProcess) -> list[dict[str, object]]:
    return [msgspec.msgpack.decode(row.payload)
            for row in read_journal(kernel.journal_path, topic_prefix="kernel.state")]


def test_stop_journals_who_and_why_and_returns_once_the_kernel_and_its_bot_are_gone(
    tmp_path: Path,
) -> None:
    kernel = kernel_with_bot(tmp_path).start()
    try:
        bot = wait_bot_running(kernel)
        stopped = kernel.cli("stop", "--reason", "maintenance window", timeout_s=90)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.decode().strip() == "kernel stopped"
        assert b"the kernel is stopping" in stopped.stderr and b"journal #" in stopped.stderr
        assert kernel.proc is not None and kernel.proc.wait(30) == 0
    finally:
        kernel.kill()
    assert not kernel_running(tmp_path / "data")
    stopping = [s for s in states(kernel) if s["state"] == "stopping"]
    assert len(stopping) == 1  # the stop's own record, not a second one from the kernel
    assert "operator:" in str(stopping[0]["reason"])
    assert "maintenance window" in str(stopping[0]["reason"])
    assert states(kernel)[-1]["state"] == "stopped"
    assert "received SIG" not in kernel.stderr()
    exits = [msgspec.msgpack.decode(row.payload)
             for row in read_journal(kernel.journal_path, topic_prefix="bot.exit")]
    assert [(e["pid"], e["expected"], e["exit_code"]) for e in exits] == [(bot["pid"], True, 0)]


def test_stop_without_a_running_kernel_says_so(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path)  # configured, never started
    result = kernel.cli("stop", "--reason", "nothing to stop")
    assert result.returncode == 3, result.stderr
    assert b"kernel not running" in result.stderr
