"""Starting and stopping the bot's process tree, portably, and capturing its output.

Why threads rather than asyncio subprocesses: on Windows the kernel runs the
selector event loop (pyzmq needs it), and that loop cannot run subprocesses.
One thread per bot process blocks in ``wait()`` and hands the exit code to the
loop at once (``call_soon_threadsafe``), which is what Python 3.11's own child
watcher does on POSIX anyway; another reads the merged stdout/stderr into the
daily log file and a short in-memory tail for the exit event.

The bot starts in its own process group (a new session on POSIX,
``CREATE_NEW_PROCESS_GROUP`` on Windows) and, on Windows, in a Job Object with
kill-on-close (:mod:`kernel.process_tree`), so a Ctrl-C meant for the kernel does
not reach it (the watchdog decides how it stops) and its whole tree ends with it,
and with the kernel. Stopping covers the whole tree (the group or the job, and
every descendant psutil has seen), and a process is only ever signalled through an
identity that checks its start time, so a reused pid is never hit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

from agents.watchdog._bot_output import BotOutput
from kernel.lockfile import PidRecord
from kernel.process_tree import ProcessTree, spawn_options

_MAX_LINE = 64 * 1024
_TAIL_WAIT_S = 0.1
_LIVE: set[BotProcess] = set()
"""Bot processes not yet seen to exit: killed at interpreter exit as a last resort."""


class SpawnError(Exception):
    """The bot could not be started; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class BotProcess:
    """One started bot: identity (pid and start time), output tail, exit notice, stop."""

    def __init__(self, popen: subprocess.Popen[bytes], argv: list[str], output: BotOutput,
                 tail_lines: int, on_exit: Callable[[BotProcess, int], None] | None) -> None:
        self.pid = popen.pid
        self.argv = argv
        self.returncode: int | None = None
        self._popen = popen
        self._tree = ProcessTree(popen.pid)  # at once: before the bot starts children
        self._output = output
        self._on_exit = on_exit
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[int] = self._loop.create_future()
        self._tail: deque[str] = deque(maxlen=tail_lines)
        self._tail_lock = threading.Lock()
        self._identity: psutil.Process | None = None
        self.create_time = 0.0
        with contextlib.suppress(psutil.Error):  # read before anything can reap it
            self._identity = psutil.Process(self.pid)
            self.create_time = self._identity.create_time()
        self._descendants: dict[int, psutil.Process] = {}
        self._reader = threading.Thread(target=self._read_output, name=f"bot-{self.pid}-out",
                                        daemon=True)

    @classmethod
    def spawn(cls, argv: list[str], *, cwd: Path, env: Mapping[str, str], output: BotOutput,
              tail_lines: int = 50,
              on_exit: Callable[[BotProcess, int], None] | None = None) -> BotProcess:
        """Start ``argv``; raise :class:`SpawnError` with a fix-it message when it cannot."""
        where = f"(bot.command in paths.yaml, run in {cwd})"
        if not cwd.is_dir():
            raise SpawnError(f"the bot's working directory {cwd} does not exist. Fix: set "
                             "bot.cwd in paths.yaml to an existing folder.", permanent=True)
        try:
            popen = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     **spawn_options())
        except FileNotFoundError:
            raise SpawnError(f"command {argv[0]!r} not found {where}. Fix: install it, or "
                             "correct the path in paths.yaml.", permanent=True) from None
        except PermissionError:
            raise SpawnError(f"command {argv[0]!r} is not executable {where}. Fix: make it "
                             "executable, or run it through its interpreter.",
                             permanent=True) from None
        except OSError as exc:
            raise SpawnError(f"cannot start {argv[0]!r} {where}: {exc.strerror}",
                             permanent=False) from exc
        bot = cls(popen, argv, output, tail_lines, on_exit)
        _LIVE.add(bot)
        output.write(bot.pid, f"--- started: {' '.join(argv)}")
        if bot._tree.job_error:
            output.write(bot.pid, f"--- not in a Job Object ({bot._tree.job_error}): its "
                         "children are stopped only as far as they can be found")
        bot._reader.start()
        threading.Thread(target=bot._wait_exit, name=f"bot-{bot.pid}-wait", daemon=True).start()
        return bot

    @property
    def record(self) -> PidRecord:
        return PidRecord(pid=self.pid, create_time=self.create_time, argv=self.argv,
                         started_at=time.time())

    def tail(self) -> list[str]:
        with self._tail_lock:
            return list(self._tail)

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` is this bot or one of its descendants (a wrapper's child)."""
        return pid == self.pid or pid in {p.pid for p in self.descendants()}

    def descendants(self) -> list[psutil.Process]:
        """Every descendant seen so far; remembered, since orphans leave the tree."""
        if self._identity is not None and self.returncode is None:
            with contextlib.suppress(psutil.Error):
                for child in self._identity.children(recursive=True):
                    self._descendants.setdefault(child.pid, child)
        return list(self._descendants.values())

    async def wait_exit(self, timeout_s: float | None = None) -> bool:
        """True once the process has exited (within ``timeout_s``, if given)."""
        if self._done.done():
            return True
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self, *, terminate_wait_s: float, kill_wait_s: float = 2.0) -> str:
        """Terminate, kill after ``terminate_wait_s``; the whole tree. Says how it ended."""
        try:
            kids = self.descendants()
            how = "exited"
            if self.returncode is None:
                asked = self._terminate(kids)
                how = ("terminated" if asked and await self.wait_exit(terminate_wait_s)
                       else "killed")
            self.kill_now()  # the root and any descendant still there
            await self.wait_exit(kill_wait_s)
            return how
        except asyncio.CancelledError:
            self.kill_now()  # abandoned mid-stop: never leave it running
            raise

    def kill_now(self) -> None:
        """Kill the process, its group or job and every known descendant, without waiting."""
        kids = self.descendants()
        if self.returncode is None:
            with contextlib.suppress(OSError):
                self._popen.kill()  # Popen never signals a pid it has already reaped
        self._tree.kill()
        for kid in kids:
            with contextlib.suppress(psutil.Error):
                kid.kill()

    def _terminate(self, kids: list[psutil.Process]) -> bool:
        """The polite signal; False when there is none (Windows without a shared console).

        On Windows Ctrl-Break reaches the whole group, and ``terminate()`` would be a
        hard kill there, so the descendants are left to the group's signal.
        """
        if self._tree.windows:
            return self._tree.ask_to_stop()
        with contextlib.suppress(OSError):
            self._popen.send_signal(signal.SIGTERM)
        self._tree.ask_to_stop()
        for kid in kids:
            with contextlib.suppress(psutil.Error):
                kid.terminate()
        return True

    def _read_output(self) -> None:
        stream = self._popen.stdout
        if stream is None:
            return
        try:
            for raw in iter(lambda: stream.readline(_MAX_LINE), b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._output.write(self.pid, line)
                with self._tail_lock:
                    self._tail.append(line)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                stream.close()

    def _wait_exit(self) -> None:
        code = self._popen.wait()
        # The pipe reaches EOF as the process ends; wait that instant so the exit event
        # carries the last lines. A grandchild still holding the pipe costs at most this.
        self._reader.join(_TAIL_WAIT_S)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self._exited, code)

    def _exited(self, code: int) -> None:
        self.returncode = code
        self._tree.close()  # kill-on-close: what it left in its job ends with it
        _LIVE.discard(self)
        if not self._done.done():
            self._done.set_result(code)
        if self._on_exit is not None:
            self._on_exit(self, code)


def find_leftover(record: PidRecord) -> psutil.Process | None:
    """The process ``record`` names, if it still runs as the same process."""
    try:
        proc = psutil.Process(record.pid)
        if record.create_time and abs(proc.create_time() - record.create_time) > 0.01:
            return None  # the pid was reused
        if record.argv and proc.cmdline() != record.argv:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except psutil.Error:
        return None


def find_by_argv(argv: list[str]) -> list[psutil.Process]:
    """Processes running exactly ``argv`` (a bot started by hand with our command)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid != os.getpid() and proc.info.get("cmdline") == argv:
            found.append(proc)
    return found


async def stop_leftovers(record: PidRecord | None, argv: list[str] | None, *,
                         terminate_wait_s: float) -> list[tuple[int, str]]:
    """Stop the bot ``record`` names and any process running exactly ``argv``.

    Returns ``(pid, how it stopped)`` for each: what the watchdog reports.
    """
    found: dict[int, psutil.Process] = {}
    if record is not None and (proc := find_leftover(record)) is not None:
        found[proc.pid] = proc
    if argv is not None:
        found.update({p.pid: p for p in await asyncio.to_thread(find_by_argv, argv)})
    return [(pid, await stop_foreign(proc, terminate_wait_s=terminate_wait_s))
            for pid, proc in found.items()]


async def stop_foreign(proc: psutil.Process, *, terminate_wait_s: float) -> str:
    """Stop a process that is not our child (a leftover): terminate, then kill its tree."""
    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        kids = []
    with contextlib.suppress(psutil.Error):
        proc.terminate()  # SIGTERM; on Windows TerminateProcess (no console to signal)
    how = "terminated"
    if not await _gone(proc, terminate_wait_s):
        how = "killed"
        with contextlib.suppress(psutil.Error):
            proc.kill()
        await _gone(proc, 2.0)
    for kid in kids:
        with contextlib.suppress(psutil.Error):
            kid.kill()
    return how


async def _gone(proc: psutil.Process, timeout_s: float) -> bool:
    """Poll (not our child: nothing to wait on) until ``proc`` has exited."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)


@atexit.register
def _kill_survivors() -> None:
    for bot in list(_LIVE):
        bot.kill_now()
