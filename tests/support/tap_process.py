"""``kernel tap`` as a child process, and a kernel with the reference bot, for tests.

Reading a child's stdout blocks, so a thread moves lines into a queue and every
wait has a deadline: a test fails with what it saw instead of hanging.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tests.conftest import write_config
from tests.support.processes import ROOT, KernelProcess, kernel_command

BOT_ID = "qe-tap"


def kernel_with_bot(root: Path, *, ports: dict[str, int] | None = None) -> KernelProcess:
    """A kernel whose watchdog starts the reference bot in paper mode."""
    process = KernelProcess(root, ports=ports)
    bot = json.dumps(["{python}", "scripts/run_bot.py", "--bot-id", BOT_ID,
                      "--orphan-timeout", "2"])
    write_config(root, ports=process.ports, mode="paper", bot_command=bot)
    return process


def wait_bot_running(kernel: KernelProcess, timeout_s: float = 20.0) -> dict[str, Any]:
    """The bot.state of a running bot, as ``kernel status --json`` reports it."""
    deadline = time.monotonic() + timeout_s
    state: Any = None
    while time.monotonic() < deadline:
        status = kernel.status()
        latest: Any = (status or {}).get("latest") or {}
        state = latest.get("bot.state")
        if isinstance(state, dict) and state.get("state") == "running" and "risk.state" in latest:
            return state
        time.sleep(0.2)
    raise AssertionError(f"no running bot within {timeout_s} s (last bot.state: {state}); "
                         f"kernel stderr: {kernel.stderr()[-2000:]}")


class TapProcess:
    """``kernel tap ARGS`` with its output collected line by line."""

    def __init__(self, config_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            kernel_command("--config-dir", str(config_dir), "tap", *args), cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "200", **(env or {})})
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [self._reader(self.proc.stdout, self._queue.put),
                         self._reader(self.proc.stderr, self.errors.append)]

    @staticmethod
    def _reader(stream: IO[bytes], put: Callable[[str], None]) -> threading.Thread:
        def run() -> None:
            for raw in iter(stream.readline, b""):
                put(raw.decode(errors="replace").rstrip("\n"))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def wait_for(self, predicate: Callable[[str], bool], timeout_s: float = 15.0,
                 what: str = "a matching line") -> str:
        """The first new line (since the last wait) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    break
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"{what} not seen within {timeout_s} s; tap exit "
                             f"{self.proc.poll()}; last lines: {self.lines[-15:]}; "
                             f"stderr: {self.errors[-10:]}")

    def wait_json(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 15.0,
                  what: str = "a matching record") -> dict[str, Any]:
        line = self.wait_for(lambda text: predicate(json.loads(text)), timeout_s, what)
        record: dict[str, Any] = json.loads(line)
        return record

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 10.0) -> int:
        """Send ``sig``; the exit code once the tap has gone and its output is read."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout_s)
        for reader in self._readers:
            reader.join(timeout_s)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        self._close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()

    @property
    def stderr(self) -> str:
        return "\n".join(self.errors)


ANSI = re.compile(r"\x1b\[")
