"""Never twice: one kernel per data directory, and a record of the bot it started.

The kernel takes an OS file lock on ``<data_dir>/kernel.lock`` for its whole
life (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows). The OS drops the
lock when the process dies, however it dies, so a killed kernel never leaves a
stale lock behind and no pid guessing is involved in deciding who holds it. The
holder's pid goes to a separate ``kernel.pid`` (a byte-range lock on Windows
would make the locked file itself unreadable) only so that the refusal can say
which process to stop.

:class:`PidFile` records the bot the watchdog started, with its start time and
command line, so that the next kernel can recognise a bot left running by a
killed one (pids are reused; pid plus start time is not).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import msgspec

_HOLDER_READ_TRIES = 10
"""The holder writes its pid just after locking: re-read briefly before giving up."""


class LockHeld(Exception):
    """Another live process holds the data directory's lock."""

    def __init__(self, data_dir: Path, holder: PidRecord | None) -> None:
        self.data_dir = data_dir
        self.holder = holder
        who = f"pid {holder.pid}" if holder is not None else "a process whose pid is unknown"
        since = ""
        if holder is not None and holder.started_at:
            when = time.localtime(holder.started_at)
            since = f", started {time.strftime('%Y-%m-%d %H:%M:%S', when)}"
        stop = stop_advice(holder.pid if holder is not None else None)
        super().__init__(
            f"another kernel ({who}{since}) is already running on the data directory "
            f"{data_dir}. Two kernels would start two bots and race on one journal, so this "
            f"one will not start. Fix: {stop}, or set a different data_dir in paths.yaml.")


def stop_advice(pid: int | None, platform: str | None = None) -> str:
    """How to stop the kernel holding the lock, in the words of the OS this runs on.

    ``kernel stop`` asks the kernel itself, over its control socket. POSIX: SIGTERM
    (``kill``) is as polite as Ctrl-C. Windows has no such signal:
    ``taskkill`` without ``/F`` cannot close a console program, and with ``/F`` it
    kills outright (the journal survives that, as it survives ``kill -9``, but the
    bot is killed instead of stopped: ``/T`` so that none is left trading
    unsupervised), so the polite ways come first.
    """
    if pid is None:
        return "stop the other kernel first"
    if (platform or sys.platform) == "win32":
        return (f"stop it first: Ctrl-C in its window, or `kernel stop --reason R` from another, "
                "or stop the service or scheduled task that runs it (docs/windows.md); as a "
                f"last resort `taskkill /F /T /PID {pid}`, which kills it and its bot without "
                "a clean stop")
    return f"stop it first (Ctrl-C in its window, `kernel stop --reason R`, or `kill {pid}`)"


class DataDirUnusable(Exception):
    """The data directory cannot hold the lock (read-only, missing rights, disk full)."""

    def __init__(self, data_dir: Path, error: OSError) -> None:
        self.data_dir = data_dir
        self.error = error
        where = f" ({error.filename})" if error.filename else ""
        super().__init__(
            f"cannot use the data directory {data_dir}: {error.strerror or error}{where}. The "
            "kernel keeps its lock, its journal and the journal's head file there, and does "
            "not trade without them. Fix: make the folder writable for this user (remount "
            "the disk read-write, free some space), or set data_dir in paths.yaml to a "
            "writable folder. To only read a copy of a journal, `kernel audit verify` and "
            "`kernel report` work on a read-only folder.")


class PidRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Who a process is: pid plus what makes the pid unambiguous."""

    pid: int
    create_time: float = 0.0
    """As reported by the OS (``psutil.Process.create_time()``); 0 when unknown."""
    argv: list[str] = []
    started_at: float = 0.0
    """Wall-clock time the record was written."""


class PidFile:
    """A small JSON file naming one process; written atomically, read forgivingly."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, record: PidRecord) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(msgspec.json.encode(record))
        os.replace(tmp, self.path)

    def read(self) -> PidRecord | None:
        """The record, or None when there is none or it is unreadable (a torn write)."""
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=PidRecord)
        except (OSError, msgspec.DecodeError):
            return None

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class DataDirLock:
    """The kernel's exclusive hold on a data directory; release it (or use ``with``)."""

    def __init__(self, handle: IO[bytes], pid_file: PidFile) -> None:
        self._handle: IO[bytes] | None = handle
        self._pid_file = pid_file

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Take the lock or raise :class:`LockHeld` naming the holder; never waits.

        A folder that cannot hold the lock (read-only, no rights, full) raises
        :class:`DataDirUnusable` naming it and the fix, never a bare ``OSError``.
        """
        pid_file = PidFile(data_dir / "kernel.pid")
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            handle = open(data_dir / "kernel.lock", "a+b")  # noqa: SIM115  (held for life)
        except OSError as exc:
            raise DataDirUnusable(data_dir, exc) from exc
        if not _try_lock(handle):
            handle.close()
            raise LockHeld(data_dir, _read_holder(pid_file))
        try:
            pid_file.write(PidRecord(pid=os.getpid(), argv=list(sys.argv),
                                     started_at=time.time()))
        except OSError as exc:
            _unlock(handle)
            handle.close()
            raise DataDirUnusable(data_dir, exc) from exc
        return cls(handle, pid_file)

    @property
    def held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        """Forget the pid, then unlock: the next kernel never reads our stale pid."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        record = self._pid_file.read()
        if record is not None and record.pid == os.getpid():
            self._pid_file.clear()
        try:
            _unlock(handle)
        finally:
            handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def kernel_running(data_dir: Path) -> bool:
    """Whether a kernel holds the data directory now, without writing anything there.

    The lock file is opened read-only, so this works on a read-only copy of a
    data directory too (no lock file: no kernel ever ran there).
    """
    try:
        handle = open(data_dir / "kernel.lock", "rb")  # noqa: SIM115  (closed below)
    except OSError:
        return False
    try:
        if not _try_lock(handle):
            return True
        _unlock(handle)
        return False
    finally:
        handle.close()


def _read_holder(pid_file: PidFile) -> PidRecord | None:
    record = None
    for _ in range(_HOLDER_READ_TRIES):
        record = pid_file.read()
        if record is not None and record.pid != os.getpid():
            break
        time.sleep(0.02)  # not written yet, or (in one test process) our own
    return record


if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: held elsewhere
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
