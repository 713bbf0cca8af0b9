"""``BotProcess.owns``: the Windows venv launcher case, with the OS calls faked.

On Windows ``.venv\\Scripts\\python.exe`` is a launcher: it starts the real
interpreter as its child, so the bot that says hello has another pid than the
process the watchdog started. The watchdog accepts the hello because the pid is a
descendant of its process (agents/watchdog/actor.py); here psutil is faked at
that boundary, since POSIX has no such launcher to run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import ClassVar, cast

import psutil
import pytest

from agents.watchdog._bot_output import BotOutput
from agents.watchdog._bot_process import BotProcess

LAUNCHER, INTERPRETER, STRANGER = 4100, 4101, 4102


class FakeProcess:
    """What BotProcess asks of ``psutil.Process``: start time and children."""

    tree: ClassVar[dict[int, list[FakeProcess]]] = {}

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def create_time(self) -> float:
        return 1_700_000_000.0 + self.pid

    def children(self, recursive: bool = False) -> list[FakeProcess]:
        kids = list(self.tree.get(self.pid, []))
        if recursive:
            for kid in list(kids):
                kids.extend(kid.children(recursive=True))
        return kids


class FakePopen:
    pid = LAUNCHER


@pytest.fixture
async def launched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> BotProcess:
    monkeypatch.setattr(psutil, "Process", FakeProcess)  # the module calls psutil.Process
    FakeProcess.tree = {LAUNCHER: [FakeProcess(INTERPRETER)]}
    popen = cast("subprocess.Popen[bytes]", FakePopen())
    return BotProcess(popen, [r"C:\bot\.venv\Scripts\python.exe", "run_bot.py"],
                      BotOutput(tmp_path), tail_lines=5, on_exit=None)


async def test_the_interpreter_a_launcher_started_is_owned_and_a_stranger_is_not(
    launched: BotProcess,
) -> None:
    assert launched.pid == LAUNCHER and launched.create_time == 1_700_000_000.0 + LAUNCHER
    assert launched.owns(LAUNCHER)
    assert launched.owns(INTERPRETER)  # the hello's pid: the launcher's child
    assert not launched.owns(STRANGER)


async def test_a_grandchild_counts_and_a_child_once_seen_is_remembered(
    launched: BotProcess,
) -> None:
    FakeProcess.tree[INTERPRETER] = [FakeProcess(STRANGER)]  # the bot started a helper
    assert launched.owns(STRANGER)
    FakeProcess.tree = {}  # reparented or between polls: still ours to stop
    assert launched.owns(INTERPRETER) and launched.owns(STRANGER)


async def test_after_the_launcher_exits_no_new_process_is_adopted(launched: BotProcess) -> None:
    assert launched.owns(INTERPRETER)  # seen while the launcher runs
    launched.returncode = 1
    FakeProcess.tree = {LAUNCHER: [FakeProcess(STRANGER)]}  # a reused pid, say
    assert not launched.owns(STRANGER)
    assert launched.owns(INTERPRETER)  # seen while it ran
