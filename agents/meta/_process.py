"""Running the user's Meta-Agent: one command, one task, a timeout, bounded output, one report.

The contract (docs/meta-agent.md): the command from ``paths.yaml`` is run in its
working directory with the task file's path as its last argument (or wherever
``{task}`` appears), and ``SUPERVISOR_TASK``, ``SUPERVISOR_TASK_ID``,
``SUPERVISOR_REPORT`` and ``SUPERVISOR_OUTBOX`` in its environment. Exit 0 means
a report was written to ``<outbox>/<task id>.md`` (or printed on stdout, or
written under another plain name given by a last ``report: NAME`` line).

Why it is built like this:

* **Threads and polling, not asyncio subprocesses**: the kernel runs the
  selector loop on Windows, which cannot run subprocesses (see
  ``agents/watchdog/_bot_process.py``). The wait polls ``Popen.poll`` with an
  ``asyncio.sleep``, so the loop stays free and a cancelled wait kills the tree.
* **Its whole tree**: it runs in its own process group, and on Windows in a Job
  Object with kill-on-close (:mod:`kernel.process_tree`); a timeout or a
  cancellation kills the group or the job and every descendant psutil finds.
* **Everything bounded**: stdout and stderr are drained to the end (a full pipe
  would hang the child) but only a head and a tail are kept; the report is read
  up to ``report_max_bytes`` and noted as truncated beyond.
* **Nothing outside the configured folders**: a report name is accepted only as
  a plain file name inside the outbox (no separators, no ``..``, no absolute
  path, no symbolic link), so a Meta-Agent cannot make the supervisor read or
  write anywhere else. The only file written here is a report taken from stdout,
  under the task's own id, in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Final, NamedTuple

import psutil

from agents.audit.files import OutputUnwritable, write_text
from agents.meta.messages import Outcome
from kernel.child_env import child_environment
from kernel.config import python_command
from kernel.process_tree import ProcessTree, spawn_options

_SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_REPORT_LINE: Final = re.compile(rb"^report:\s*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
_CHUNK: Final = 64 * 1024


class Limits(NamedTuple):
    timeout_s: float
    report_max_bytes: int
    capture_max_bytes: int


class AgentRun(NamedTuple):
    outcome: Outcome
    detail: str
    exit_code: int | None = None
    duration_s: float = 0.0
    report_path: Path | None = None
    report_text: str = ""
    report_bytes: int = 0
    truncated: bool = False
    stderr_tail: str = ""
    notes: tuple[str, ...] = ()


async def run_external(command: list[str], *, cwd: Path, task_path: Path, task_id: str,
                       outbox: Path, limits: Limits, poll_s: float = 0.05) -> AgentRun:
    """Run the command on one task and collect its report; never raises for its failures."""
    report = outbox / f"{task_id}.md"
    argv = _argv(command, task=task_path, outbox=outbox, task_id=task_id)
    env = child_environment({"SUPERVISOR_TASK": str(task_path), "SUPERVISOR_TASK_ID": task_id,
                             "SUPERVISOR_REPORT": str(report), "SUPERVISOR_OUTBOX": str(outbox)})
    started = time.monotonic()
    try:
        # a plain Popen waited on by polling: asyncio subprocesses need the proactor loop
        # on Windows, and the kernel runs the selector loop there (pyzmq needs it)
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,  # noqa: ASYNC220
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                **spawn_options())
    except OSError as exc:
        return AgentRun("start_failed", f"the Meta-Agent command {argv[0]!r} could not be "
                        f"started in {cwd}: {exc.strerror or exc}. Fix: meta_agent.command "
                        "and cwd in paths.yaml")
    tree = ProcessTree(proc.pid)  # at once: before it starts children of its own
    try:
        return await _supervised(proc, tree, limits, poll_s, outbox, task_id, started)
    finally:
        tree.close()  # Windows: kill-on-close ends what it left in its job


async def _supervised(proc: subprocess.Popen[bytes], tree: ProcessTree, limits: Limits,
                      poll_s: float, outbox: Path, task_id: str, started: float) -> AgentRun:
    out = _Capture(proc.stdout, head=limits.report_max_bytes, tail=limits.capture_max_bytes)
    err = _Capture(proc.stderr, head=0, tail=limits.capture_max_bytes)
    try:
        code = await _wait(proc, tree, limits.timeout_s, poll_s)
    except BaseException:
        _kill_tree(proc, tree)  # cancelled (the kernel stops): never leave it running
        raise
    out.join()
    err.join()
    took = time.monotonic() - started
    stderr_tail = err.text()[-4000:]
    notes = tuple(n for n in (out.note("stdout"), err.note("stderr")) if n)
    if code is None:
        return AgentRun("timeout", f"the Meta-Agent was still running after "
                        f"{limits.timeout_s:g} s and was killed", None, took,
                        stderr_tail=stderr_tail, notes=notes)
    if code != 0:
        last = stderr_tail.strip().splitlines()[-1:] or ["(nothing on stderr)"]
        return AgentRun("exit_nonzero", f"the Meta-Agent exited with status {code}: "
                        f"{last[0][:300]}", code, took, stderr_tail=stderr_tail, notes=notes)
    found = collect_report(outbox, task_id, out.head, out.total, limits.report_max_bytes)
    return found._replace(exit_code=code, duration_s=took, stderr_tail=stderr_tail,
                          notes=notes + found.notes)


def collect_report(outbox: Path, task_id: str, stdout: bytes, stdout_total: int,
                   max_bytes: int) -> AgentRun:
    """The report from the outbox (the task's name, or a ``report: NAME`` line), else stdout."""
    named = _REPORT_LINE.findall(stdout)
    name = named[-1].decode("utf-8", "replace") if named else f"{task_id}.md"
    problem = unsafe_name(name)
    if problem:
        return AgentRun("bad_report", f"report name {name[:200]!r} refused: {problem}; "
                        f"only a plain file name in {outbox} is read")
    path = outbox / name
    try:
        raw, size = read_bounded(path, outbox, max_bytes)
    except FileNotFoundError:
        if named:
            return AgentRun("no_report", f"the report {name!r} named on stdout is not in "
                            f"{outbox}")
        return _from_stdout(outbox, task_id, stdout, stdout_total, max_bytes)
    except (PermissionError, IsADirectoryError, OSError) as exc:
        return AgentRun("bad_report", f"the report {path} cannot be read: {exc}")
    return _checked(path, raw, size, max_bytes, ())


def unsafe_name(name: str) -> str:
    """Why ``name`` is not a plain report file name; empty when it is."""
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "it is an absolute path"
    if "/" in name or "\\" in name:
        return "it names a folder (path separators are not accepted)"
    if ".." in name:
        return "it contains '..'"
    if not _SAFE_NAME.match(name) or not name.endswith(".md"):
        return "a report name is letters, digits, '.', '_', '-' and ends in .md"
    return ""


def read_bounded(path: Path, folder: Path, max_bytes: int) -> tuple[bytes, int]:
    """Up to ``max_bytes`` of a regular file directly inside ``folder``, and its size."""
    if path.is_symlink():
        raise PermissionError(f"{path.name} is a symbolic link; links are not followed")
    if path.resolve().parent != folder.resolve():
        raise PermissionError(f"{path} is not inside {folder}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PermissionError(f"{path.name} is not a regular file")
        return file.read(max_bytes), info.st_size


def _from_stdout(outbox: Path, task_id: str, stdout: bytes, total: int,
                 max_bytes: int) -> AgentRun:
    text = _REPORT_LINE.sub(b"", stdout)
    if not text.strip():
        return AgentRun("no_report", f"the Meta-Agent wrote no report ({outbox / task_id}.md) "
                        "and printed nothing on stdout")
    checked = _checked(outbox / f"{task_id}.md", text, total, max_bytes,
                       ("the report was taken from stdout",))
    if checked.outcome != "ok":
        return checked
    try:
        write_text(outbox / f"{task_id}.md", checked.report_text, what="Meta-Agent report")
    except OutputUnwritable as exc:
        return checked._replace(notes=(*checked.notes, f"not kept in the outbox: {exc}"))
    return checked


def _checked(path: Path, raw: bytes, size: int, max_bytes: int,
             notes: tuple[str, ...]) -> AgentRun:
    if not raw.strip():
        return AgentRun("no_report", f"the report {path} is empty", report_path=path)
    if b"\0" in raw:
        return AgentRun("bad_report", f"the report {path} holds binary data (NUL bytes), not "
                        "Markdown", report_path=path, report_bytes=size)
    truncated = size > max_bytes
    if truncated:
        notes += (f"the report is {size:,} bytes: only the first {max_bytes:,} were read",)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        if not truncated:  # a cut through a multi-byte character is not worth a note
            notes += ("the report is not valid UTF-8: undecodable bytes were replaced",)
    return AgentRun("ok", f"report of {size:,} bytes", report_path=path, report_text=text,
                    report_bytes=size, truncated=truncated, notes=notes)


def _argv(command: list[str], *, task: Path, outbox: Path, task_id: str) -> list[str]:
    values = {"{task}": str(task), "{outbox}": str(outbox), "{task_id}": task_id}
    argv = [values.get(part, part) for part in python_command(command)]
    return argv if "{task}" in command else [*argv, str(task)]


async def _wait(proc: subprocess.Popen[bytes], tree: ProcessTree, timeout_s: float,
                poll_s: float) -> int | None:
    """The exit status, or None after killing a process that outlived ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (code := proc.poll()) is None:
        if time.monotonic() >= deadline:
            _kill_tree(proc, tree)
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(proc.wait, 5)
            return None
        await asyncio.sleep(poll_s)
    return code


def _kill_tree(proc: subprocess.Popen[bytes], tree: ProcessTree) -> None:
    kids: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        kids = psutil.Process(proc.pid).children(recursive=True)
    with contextlib.suppress(OSError):
        proc.kill()
    tree.kill()  # the group (POSIX) or the job (Windows)
    for kid in kids:
        with contextlib.suppress(psutil.Error):
            kid.kill()


class _Capture:
    """Drains a pipe in a thread, keeping its first ``head`` and last ``tail`` bytes."""

    def __init__(self, stream: IO[bytes] | None, *, head: int, tail: int) -> None:
        self.head = b""
        self._tail = bytearray()
        self._limits = (head, tail)
        self.total = 0
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        head, tail = self._limits
        with contextlib.suppress(OSError, ValueError), stream:
            while chunk := os.read(stream.fileno(), _CHUNK):
                self.total += len(chunk)
                if len(self.head) < head:
                    self.head += chunk[:head - len(self.head)]
                self._tail += chunk
                del self._tail[:-tail]

    def join(self) -> None:
        self._thread.join(2.0)  # a grandchild holding the pipe costs at most this

    def text(self) -> str:
        return bytes(self._tail).decode("utf-8", "replace")

    def note(self, name: str) -> str:
        kept = max(self._limits)
        if self.total > kept:
            return f"{name} was {self.total:,} bytes: only {kept:,} were kept"
        return ""
