"""The bot's stop order on the Windows route, with a real process and the Windows calls
faked (tests/unit/test_process_tree.py's FakeKernel32): Ctrl-Break to the group only
where a console is shared, then the job terminated; without a console no wait at all."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.watchdog import _bot_process
from agents.watchdog._bot_output import BotOutput
from agents.watchdog._bot_process import BotProcess
from kernel.process_tree import ProcessTree
from tests.support.watchdog_harness import running
from tests.unit.test_process_tree import JOB, FakeKernel32

pytestmark = pytest.mark.timeout(60)

SLEEPER = [sys.executable, "-c", "import time; time.sleep(3600)"]


@pytest.fixture
def output(tmp_path: Path) -> Iterator[BotOutput]:
    log = BotOutput(tmp_path / "logs")
    yield log
    log.close()


def spawn_with(api: FakeKernel32, output: BotOutput, cwd: Path,
               monkeypatch: pytest.MonkeyPatch) -> BotProcess:
    monkeypatch.setattr(_bot_process, "ProcessTree",
                        lambda pid: ProcessTree(pid, api=api, windows=True))
    bot = BotProcess.spawn(SLEEPER, cwd=cwd, env={}, output=output)
    del api.calls[:]  # the job's making is test_process_tree's; here: the stop
    return bot


async def test_with_a_console_ctrl_break_comes_first_then_the_job_ends(
    tmp_path: Path, output: BotOutput, monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeKernel32(consoles=2)
    bot = spawn_with(api, output, tmp_path, monkeypatch)
    assert await bot.stop(terminate_wait_s=0.2) == "killed"  # the fake delivers nothing
    assert not running(bot.pid)
    assert api.names()[:2] == ["GenerateConsoleCtrlEvent", "TerminateJobObject"]
    assert api.calls[0] == ("GenerateConsoleCtrlEvent", 1, bot.pid)  # CTRL_BREAK_EVENT
    assert ("CloseHandle", JOB) in api.calls  # closed once it had exited


async def test_without_a_console_the_job_ends_at_once_without_waiting(
    tmp_path: Path, output: BotOutput, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing can deliver Ctrl-Break: waiting the grace would only delay the kill (a
    wait of 600 s here would outlast the test's timeout)."""
    api = FakeKernel32(consoles=0)
    bot = spawn_with(api, output, tmp_path, monkeypatch)
    assert await bot.stop(terminate_wait_s=600) == "killed"
    assert not running(bot.pid)
    assert "GenerateConsoleCtrlEvent" not in api.names()
    assert api.names()[0] == "TerminateJobObject"
