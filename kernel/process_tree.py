"""A child and everything it starts, as one unit the kernel can stop: a process
group on POSIX, a Windows Job Object with kill-on-close on Windows.

Why a Job Object: on Windows a process killed with ``TerminateProcess`` leaves its
children running, and psutil only finds descendants that are still attached to
the tree when it looks. A job holds every process the child starts (Windows 8 and
later nest jobs, so a kernel that itself runs inside one, under a service wrapper
or Task Scheduler, still works), ``TerminateJobObject`` ends them all at once, and
``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`` makes Windows end them when the kernel's
handle closes: when the kernel exits, however it exits.

The stop order, the same on every platform (docs/windows.md, "Processes, signals
and the event loop"): the owner first asks politely over the bot link; then
:meth:`ProcessTree.ask_to_stop` (POSIX: SIGTERM to the process and its group;
Windows: ``CTRL_BREAK_EVENT`` to its process group, only where the kernel has a
console, since Windows delivers console events only between processes attached
to one console); then :meth:`ProcessTree.kill` (SIGKILL to the group; the job
terminated). A kernel without a console (a service, ``pythonw``) starts its
children with ``CREATE_NO_WINDOW`` so that no console window appears, and skips
the Ctrl-Break step: its children get no polite signal, only the link's request.

Every Windows call goes through :class:`Kernel32`, a boundary of plain methods
that unit tests replace with a recording fake (``tests/unit/test_process_tree.py``),
so this module's Windows path is checked on every platform.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import Any, Final, Protocol

__all__ = ["JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE", "ExtendedLimits", "JobError", "Kernel32",
           "ProcessTree", "console_shared", "spawn_options"]

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: Final = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION: Final = 9
"""``JobObjectExtendedLimitInformation``: the information class that carries the limit flags."""
PROCESS_SET_QUOTA: Final = 0x0100
PROCESS_TERMINATE: Final = 0x0001
CREATE_NEW_PROCESS_GROUP: Final = 0x00000200
CREATE_NO_WINDOW: Final = 0x08000000
CTRL_BREAK_EVENT: Final = 1
KILLED_EXIT_CODE: Final = 1
"""The exit status of processes ended with the job, as ``Popen.kill`` gives on Windows."""


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class _BasicLimits(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", ctypes.c_uint32),
                ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t),
                ("ActiveProcessLimit", ctypes.c_uint32),
                ("Affinity", ctypes.c_size_t),
                ("PriorityClass", ctypes.c_uint32),
                ("SchedulingClass", ctypes.c_uint32)]


class ExtendedLimits(ctypes.Structure):
    """``JOBOBJECT_EXTENDED_LIMIT_INFORMATION`` (144 bytes on 64-bit Windows)."""

    _fields_ = [("BasicLimitInformation", _BasicLimits),
                ("IoInfo", _IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t),
                ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t),
                ("PeakJobMemoryUsed", ctypes.c_size_t)]


class Kernel32(Protocol):
    """The Windows calls this module makes, one method each, under their Windows
    names; a handle of 0 or False means the call failed."""

    def CreateJobObjectW(self) -> int: ...
    def SetInformationJobObject(self, job: int, info_class: int,
                                info: ExtendedLimits) -> bool: ...
    def OpenProcess(self, access: int, pid: int) -> int: ...
    def AssignProcessToJobObject(self, job: int, process: int) -> bool: ...
    def TerminateJobObject(self, job: int, exit_code: int) -> bool: ...
    def CloseHandle(self, handle: int) -> bool: ...
    def GetConsoleProcessList(self) -> int: ...
    def GenerateConsoleCtrlEvent(self, event: int, group: int) -> bool: ...
    def GetLastError(self) -> int: ...


class JobError(OSError):
    """A Job Object could not be made or filled; the message names the call and the error."""


def console_shared(api: Kernel32 | None = None) -> bool:
    """Whether the kernel has a console its children share, so Ctrl-Break can reach them.

    ``GetConsoleProcessList`` counts the processes attached to the caller's console,
    the kernel among them: 0 means the kernel has no console at all (a service,
    ``pythonw``, a scheduled task without one). POSIX has no such rule: True.
    """
    if api is None:
        if sys.platform != "win32":
            return True
        api = _system_kernel32()
    return api.GetConsoleProcessList() > 0


def spawn_options(api: Kernel32 | None = None) -> dict[str, Any]:
    """``Popen`` options that give the child its own group: a Ctrl-C meant for the
    kernel does not reach it, and the whole group can be stopped at once.

    Given an ``api`` (a test's fake), the Windows options on any platform.
    """
    if sys.platform != "win32" and api is None:
        return {"start_new_session": True}
    flags = CREATE_NEW_PROCESS_GROUP
    if not console_shared(api):
        flags |= CREATE_NO_WINDOW  # no console to share: no window should pop up either
    return {"creationflags": flags}


class ProcessTree:
    """One started child's tree: its group (POSIX) or its job (Windows).

    Build it right after ``Popen``, before the child can start children of its own
    (a Python child takes tens of milliseconds to reach its first line; what it
    starts after the assignment is in the job). A job that cannot be made is not
    fatal: :attr:`job_error` says why, and the owner's psutil sweep of descendants
    is then the only way its grandchildren are stopped.
    """

    def __init__(self, pid: int, *, api: Kernel32 | None = None,
                 windows: bool | None = None) -> None:
        self.pid = pid
        self._windows = sys.platform == "win32" if windows is None else windows
        self._api = api
        self._job = 0
        self.job_error = ""
        self.can_break = True
        if self._windows:
            self._api = api or _system_kernel32()
            self.can_break = console_shared(self._api)
            try:
                self._job = _job_for(self._api, pid)
            except JobError as exc:
                self.job_error = str(exc)

    @property
    def in_job(self) -> bool:
        return self._job != 0

    @property
    def windows(self) -> bool:
        """Whether this tree is stopped the Windows way (Ctrl-Break, then the job)."""
        return self._windows

    def ask_to_stop(self) -> bool:
        """The polite signal to the whole group; False when there is none to send."""
        if not self._windows:
            _signal_group(self.pid, signal.SIGTERM)
            return True
        if not self.can_break:
            return False  # no shared console: Ctrl-Break cannot be delivered
        if self._api is not None:  # what os.kill(pid, CTRL_BREAK_EVENT) calls
            self._api.GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.pid)
        return True

    def kill(self) -> None:
        """End the whole tree now, without waiting."""
        if not self._windows:
            _signal_group(self.pid, _SIGKILL)
        elif self._job and self._api is not None:
            self._api.TerminateJobObject(self._job, KILLED_EXIT_CODE)

    def close(self) -> None:
        """Let go of the job; kill-on-close ends whatever is still in it."""
        job, self._job = self._job, 0
        if job and self._api is not None:
            self._api.CloseHandle(job)


def _job_for(api: Kernel32, pid: int) -> int:
    """A new job with kill-on-close holding ``pid``; its handle."""
    job = api.CreateJobObjectW()
    if not job:
        raise JobError(f"CreateJobObjectW failed (Windows error {api.GetLastError()})")
    try:
        limits = ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not api.SetInformationJobObject(job, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, limits):
            raise JobError(f"SetInformationJobObject failed (Windows error {api.GetLastError()})")
        process = api.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, pid)
        if not process:
            raise JobError(f"OpenProcess({pid}) failed (Windows error {api.GetLastError()})")
        try:
            if not api.AssignProcessToJobObject(job, process):
                raise JobError(f"AssignProcessToJobObject failed for pid {pid} "
                               f"(Windows error {api.GetLastError()})")
        finally:
            api.CloseHandle(process)
    except JobError:
        api.CloseHandle(job)
        raise
    return job


_SIGKILL: Final = getattr(signal, "SIGKILL", signal.SIGTERM)


def _signal_group(pgid: int, sig: int) -> None:
    """Signal the child's process group (its session), re-parented orphans included.

    Safe against reuse: Linux does not hand out a pid that is still some group's id.
    """
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            os.killpg(pgid, sig)


def _system_kernel32() -> Kernel32:
    if sys.platform == "win32":
        return _WinKernel32()
    raise JobError("Job Objects exist only on Windows")


if sys.platform == "win32":
    from ctypes import wintypes

    class _WinKernel32:
        """The real calls, through ctypes (no pywin32 needed)."""

        def __init__(self) -> None:
            dll = ctypes.WinDLL("kernel32", use_last_error=True)
            self._create = dll.CreateJobObjectW
            self._create.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
            self._create.restype = wintypes.HANDLE
            self._set = dll.SetInformationJobObject
            self._set.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                  wintypes.DWORD]
            self._set.restype = wintypes.BOOL
            self._open = dll.OpenProcess
            self._open.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
            self._open.restype = wintypes.HANDLE
            self._assign = dll.AssignProcessToJobObject
            self._assign.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
            self._assign.restype = wintypes.BOOL
            self._terminate = dll.TerminateJobObject
            self._terminate.argtypes = [wintypes.HANDLE, wintypes.UINT]
            self._terminate.restype = wintypes.BOOL
            self._close = dll.CloseHandle
            self._close.argtypes = [wintypes.HANDLE]
            self._close.restype = wintypes.BOOL
            self._ctrl = dll.GenerateConsoleCtrlEvent
            self._ctrl.argtypes = [wintypes.DWORD, wintypes.DWORD]
            self._ctrl.restype = wintypes.BOOL
            self._consoles = dll.GetConsoleProcessList
            self._consoles.argtypes = [ctypes.POINTER(wintypes.DWORD), wintypes.DWORD]
            self._consoles.restype = wintypes.DWORD

        def CreateJobObjectW(self) -> int:
            return int(self._create(None, None) or 0)

        def SetInformationJobObject(self, job: int, info_class: int,
                                    info: ExtendedLimits) -> bool:
            return bool(self._set(job, info_class, ctypes.byref(info), ctypes.sizeof(info)))

        def OpenProcess(self, access: int, pid: int) -> int:
            return int(self._open(access, False, pid) or 0)

        def AssignProcessToJobObject(self, job: int, process: int) -> bool:
            return bool(self._assign(job, process))

        def TerminateJobObject(self, job: int, exit_code: int) -> bool:
            return bool(self._terminate(job, exit_code))

        def CloseHandle(self, handle: int) -> bool:
            return bool(self._close(handle))

        def GetConsoleProcessList(self) -> int:
            pids = (wintypes.DWORD * 4)()
            return int(self._consoles(pids, 4))

        def GenerateConsoleCtrlEvent(self, event: int, group: int) -> bool:
            return bool(self._ctrl(event, group))

        def GetLastError(self) -> int:
            return ctypes.get_last_error()
