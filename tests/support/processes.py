"""Running ``kernel`` commands as real child processes in tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from scripts._bench_support import free_ports  # one helper for tests and benchmarks
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
KILLED = 1 if sys.platform == "win32" else -9
"""The exit status of a process stopped by ``Popen.kill()``: SIGKILL on POSIX,
``TerminateProcess(handle, 1)`` on Windows."""

NEW_GROUP: dict[str, Any] = {}
"""``Popen`` options for a child that :func:`interrupt` must reach on its own: on
Windows a console event goes to a process group, never to a single process."""
if sys.platform == "win32":
    NEW_GROUP["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP


def interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` as a person at its console would: Ctrl-C on POSIX (SIGINT); on
    Windows Ctrl-Break to its group (started with :data:`NEW_GROUP`), since Windows
    cannot send Ctrl-C to one group alone. The kernel treats both alike."""
    if sys.platform == "win32":
        proc.send_signal(signal.CTRL_BREAK_EVENT)
    else:
        proc.send_signal(signal.SIGINT)


def kernel_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kernel.console.cli", *args]


class KernelProcess:
    """``kernel run`` in a child process, on fresh loopback ports."""

    def __init__(self, root: Path, *, kernel_extra: str = "", bot_command: str | None = None,
                 ports: dict[str, int] | None = None, bots: str = "") -> None:
        link, pub, sub, control = free_ports(4)
        self.ports = ports or {"link": link, "pub": pub, "sub": sub, "control": control}
        if bot_command is None:  # write_config's own default
            self.config_dir = write_config(root, kernel_extra=kernel_extra, ports=self.ports,
                                           bots=bots)
        else:
            self.config_dir = write_config(root, kernel_extra=kernel_extra, ports=self.ports,
                                           bot_command=bot_command, bots=bots)
        self.root = root
        self.stderr_path = root / "kernel.stderr"
        self.proc: subprocess.Popen[bytes] | None = None

    def endpoint(self, name: str) -> str:
        return f"tcp://127.0.0.1:{self.ports[name]}"

    @property
    def journal_path(self) -> Path:
        return self.root / "data" / "journal.sqlite3"

    def start(self, *, wait_ready: bool = True, timeout_s: float = 15.0,
              env: dict[str, str] | None = None) -> KernelProcess:
        """``env`` adds to (or overrides) the test's own environment."""
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                kernel_command("--config-dir", str(self.config_dir), "run"),
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
                **NEW_GROUP)
        if wait_ready:
            self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.status() is not None:
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"kernel exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.1)  # "not running" comes at once now: leave the starting kernel a core
        raise AssertionError(f"kernel not ready in {timeout_s} s: {self.stderr()}")

    def status(self) -> dict[str, object] | None:
        result = self.cli("status", "--json", "--timeout", "0.5")
        return msgspec.json.decode(result.stdout) if result.returncode == 0 else None

    def cli(self, *args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(kernel_command("--config-dir", str(self.config_dir), *args),
                              cwd=ROOT, capture_output=True, timeout=timeout_s,
                              env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})

    def stop(self, sig: int | None = None, timeout_s: float = 15.0) -> int:
        """Ctrl-C (:func:`interrupt`) unless another signal is named; the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            if sig is None:
                interrupt(self.proc)
            else:
                self.proc.send_signal(sig)
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
