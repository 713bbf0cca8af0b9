"""The Windows path of kernel/process_tree.py, with the Windows calls faked at the boundary.

What runs here on every platform: which calls are made, with which flags, in which
order, and what happens when one fails. What only Windows can show (that the job
really ends a grandchild) is said in docs/windows.md; the POSIX equivalent runs in
tests/integration/test_watchdog.py with real processes.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from typing import Any

import pytest

from kernel.process_tree import (
    CREATE_NEW_PROCESS_GROUP,
    CREATE_NO_WINDOW,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    ExtendedLimits,
    ProcessTree,
    console_shared,
    spawn_options,
)

JOB, PROCESS = 0x111, 0x222


class FakeKernel32:
    """Records every call; ``fail`` names the one call that returns failure."""

    def __init__(self, *, consoles: int = 2, fail: str = "") -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.consoles = consoles
        self.fail = fail
        self.limits: ExtendedLimits | None = None

    def _result(self, name: str, ok: Any, *args: Any) -> Any:
        self.calls.append((name, *args))
        return 0 if self.fail == name else ok

    def CreateJobObjectW(self) -> int:
        return int(self._result("CreateJobObjectW", JOB))

    def SetInformationJobObject(self, job: int, info_class: int,
                                info: ExtendedLimits) -> bool:
        self.limits = info
        return bool(self._result("SetInformationJobObject", True, job, info_class))

    def OpenProcess(self, access: int, pid: int) -> int:
        return int(self._result("OpenProcess", PROCESS, access, pid))

    def AssignProcessToJobObject(self, job: int, process: int) -> bool:
        return bool(self._result("AssignProcessToJobObject", True, job, process))

    def TerminateJobObject(self, job: int, exit_code: int) -> bool:
        return bool(self._result("TerminateJobObject", True, job, exit_code))

    def CloseHandle(self, handle: int) -> bool:
        return bool(self._result("CloseHandle", True, handle))

    def GetConsoleProcessList(self) -> int:
        self.calls.append(("GetConsoleProcessList",))
        return self.consoles

    def GenerateConsoleCtrlEvent(self, event: int, group: int) -> bool:
        return bool(self._result("GenerateConsoleCtrlEvent", True, event, group))

    def GetLastError(self) -> int:
        return 5  # ERROR_ACCESS_DENIED

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


def test_the_job_is_made_with_kill_on_close_and_holds_the_child() -> None:
    api = FakeKernel32()
    tree = ProcessTree(4242, api=api, windows=True)
    assert tree.in_job and not tree.job_error and tree.can_break
    assert api.calls == [
        ("GetConsoleProcessList",),
        ("CreateJobObjectW",),
        ("SetInformationJobObject", JOB, 9),  # JobObjectExtendedLimitInformation
        ("OpenProcess", 0x0100 | 0x0001, 4242),  # PROCESS_SET_QUOTA | PROCESS_TERMINATE
        ("AssignProcessToJobObject", JOB, PROCESS),
        ("CloseHandle", PROCESS),  # the job keeps the process; its handle is not needed
    ]
    assert api.limits is not None
    assert api.limits.BasicLimitInformation.LimitFlags == JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE


def test_the_stop_order_is_ctrl_break_to_the_group_then_the_job_terminated() -> None:
    api = FakeKernel32()
    tree = ProcessTree(4242, api=api, windows=True)
    del api.calls[:]
    assert tree.ask_to_stop()
    tree.kill()
    tree.close()
    tree.kill()  # after close: nothing left to call
    assert api.calls == [("GenerateConsoleCtrlEvent", 1, 4242),  # CTRL_BREAK_EVENT, the group
                         ("TerminateJobObject", JOB, 1),
                         ("CloseHandle", JOB)]


def test_without_a_console_there_is_no_ctrl_break_and_no_window() -> None:
    """A kernel under a service or pythonw: Ctrl-Break cannot be delivered, so the
    step is skipped (the caller goes straight to the job) and no window pops up."""
    api = FakeKernel32(consoles=0)
    assert not console_shared(api)
    assert spawn_options(api) == {"creationflags": CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW}
    tree = ProcessTree(7, api=api, windows=True)
    del api.calls[:]
    assert not tree.ask_to_stop()
    tree.kill()
    assert api.names() == ["TerminateJobObject"]


def test_with_a_console_the_child_shares_it() -> None:
    assert spawn_options(FakeKernel32()) == {"creationflags": CREATE_NEW_PROCESS_GROUP}


@pytest.mark.parametrize("failing", ["CreateJobObjectW", "SetInformationJobObject",
                                     "OpenProcess", "AssignProcessToJobObject"])
def test_a_job_that_cannot_be_made_is_said_and_leaks_no_handle(failing: str) -> None:
    api = FakeKernel32(fail=failing)
    tree = ProcessTree(99, api=api, windows=True)
    assert not tree.in_job
    assert failing in tree.job_error and "Windows error 5" in tree.job_error
    opened = api.names().count("CreateJobObjectW") - (failing == "CreateJobObjectW")
    opened += api.names().count("OpenProcess") - (failing == "OpenProcess")
    assert api.names().count("CloseHandle") == opened
    del api.calls[:]
    tree.kill()
    tree.close()
    assert api.calls == []  # no job: the owner's psutil sweep is all there is


def test_the_limits_structure_has_the_windows_layout() -> None:
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on 64-bit Windows, 112 on 32-bit."""
    assert ctypes.sizeof(ExtendedLimits) == (144 if ctypes.sizeof(ctypes.c_void_p) == 8 else 112)


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX path: a session of its own")
def test_on_posix_the_child_gets_a_session_and_its_group_is_signalled() -> None:
    assert spawn_options() == {"start_new_session": True}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             **spawn_options())
    try:
        tree = ProcessTree(child.pid)
        assert not tree.in_job and tree.can_break
        tree.kill()
        assert child.wait(30) == -9
    finally:
        child.kill()
        child.wait(30)
