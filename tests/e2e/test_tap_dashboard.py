"""The dashboard in a real 80×24 terminal (tmux), against ``kernel run`` with the reference bot.

tmux gives the tap a real TTY of a known size and lets the test read the screen
back as text (``capture-pane -p``), so these tests see what an operator sees.
They skip, saying why, where tmux is not installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.platforms import TMUX
from tests.support.processes import ROOT, KernelProcess, kernel_command
from tests.support.tap_process import BOT_ID, kernel_with_bot, wait_bot_running

pytestmark = [
    TMUX,
    pytest.mark.skipif(shutil.which("tmux") is None,
                       reason="tmux is not installed (apt-get install tmux / brew install tmux);"
                              " the dashboard is tested in a real terminal through it"),
    pytest.mark.timeout(120),
]
WIDTH, HEIGHT = 80, 24
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[0-9;]+)m")
"""A foreground colour in ``capture-pane -e`` output (tmux's resets, 39, do not count)."""


_OWN_TERMINAL_ENV = {name: value for name, value in os.environ.items()
                     if name not in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")}
"""The private server's environment: run inside tmux (or a shell that exported its size),
COLUMNS and LINES would reach the tap, and rich trusts them over the 80x24 terminal."""


class Terminal:
    """A private tmux server with one 80×24 window running a command."""

    def __init__(self, command: list[str], folder: Path) -> None:
        self.server = f"qe-tap-{uuid.uuid4().hex[:10]}"
        self.stderr, self.exit_file = folder / "tap.stderr", folder / "tap.exit"
        conf = folder / "tmux.conf"
        conf.write_text("set -g remain-on-exit on\n")  # keep the screen after an exit
        # The shell records the exit code: tmux's own pane_dead_status is racy.
        shell = (f"cd {shlex.quote(str(ROOT))} && {shlex.join(command)} "
                 f"2>{shlex.quote(str(self.stderr))}; echo $? >{shlex.quote(str(self.exit_file))}")
        self.tmux("-f", str(conf), "new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT),
                  "-s", "tap", shell)
        self.socket = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.server, *args], capture_output=True,
                                text=True, timeout=10, env=_OWN_TERMINAL_ENV)
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tap")

    def wait_screen(self, predicate: Callable[[str], bool], timeout_s: float, what: str) -> str:
        deadline = time.monotonic() + timeout_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        err = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        raise AssertionError(f"{what} not on screen within {timeout_s} s:\n{screen}\n{err}")

    def pane_exit(self, timeout_s: float = 10.0) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.exit_file.exists() and (text := self.exit_file.read_text().strip()):
                return int(text)
            time.sleep(0.1)
        raise AssertionError(f"the tap did not exit within {timeout_s} s:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True,
                       timeout=10)
        self.socket.unlink(missing_ok=True)  # tmux may leave it behind


def dashboard(kernel: KernelProcess, tmp_path: Path) -> Terminal:
    return Terminal(kernel_command("--config-dir", str(kernel.config_dir), "tap"), tmp_path)


def panels_live(pid: int) -> Callable[[str], bool]:
    def check(screen: str) -> bool:
        return (f"bot {BOT_ID}" in screen and f"pid {pid}" in screen and "● live" in screen
                and re.search(r"risk (ACTIVE|REDUCING|HALTED)", screen) is not None
                and re.search(r"equity \d{1,3}(,\d{3})*\.\d\d", screen) is not None)
    return check


def test_the_dashboard_shows_the_real_bot_and_risk_in_80x24(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = kernel_with_bot(tmp_path).start()
    kernels.append(kernel)
    pid = wait_bot_running(kernel)["pid"]
    term = dashboard(kernel, tmp_path)
    try:
        screen = term.wait_screen(panels_live(pid), 20, "the bot and risk panels")
        (tmp_path / "capture.txt").write_text(screen)
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= HEIGHT and all(len(line) <= WIDTH for line in lines)
        assert "mode paper" in lines[0]
        assert re.search(r"daily loss .*/300 ", screen)  # 3% of the bot's 10,000 USDT
        assert re.search(r"drawdown .*/500 ", screen) and "/2.00x" in screen
        assert re.search(r"running +pid \d+ +paper", screen) and "beat " in screen
        assert "events" in screen and "Ctrl-C quits" in lines[-1]
        term.wait_screen(lambda s: re.search(r"order\.decision +(ALLOW|DENY) ", s) is not None,
                         20, "an order decision in the event list")
        assert COLOUR.search(term.tmux("capture-pane", "-e", "-p", "-t", "tap"))
        term.tmux("send-keys", "-t", "tap", "C-c")
        assert term.pane_exit() == 0
        assert "Traceback" not in term.stderr.read_text()
    finally:
        term.close()
    plain_dir = tmp_path / "no-colour"
    plain_dir.mkdir()
    plain = Terminal(["env", "NO_COLOR=1", *kernel_command("--config-dir",
                                                           str(kernel.config_dir), "tap")],
                     plain_dir)
    try:
        plain.wait_screen(panels_live(pid), 20, "the panels without colour")
        assert not COLOUR.search(plain.tmux("capture-pane", "-e", "-p", "-t", "tap"))
        plain.tmux("send-keys", "-t", "tap", "C-c")
        assert plain.pane_exit() == 0
    finally:
        plain.close()


def test_the_dashboard_says_the_kernel_is_unreachable_and_recovers(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = kernel_with_bot(tmp_path).start()
    kernels.append(kernel)
    first = wait_bot_running(kernel)["pid"]
    term = dashboard(kernel, tmp_path)
    try:
        term.wait_screen(panels_live(first), 20, "the panels")
        assert kernel.proc is not None
        kernel.proc.kill()
        kernel.proc.wait(10)
        lost = term.wait_screen(lambda s: "KERNEL UNREACHABLE" in s, 15, "the unreachable alert")
        assert "✖ UNREACHABLE" in lost and f"bot {BOT_ID}" in lost  # last known state stays
        (tmp_path / "capture-unreachable.txt").write_text(lost)

        again = kernel_with_bot(tmp_path, ports=kernel.ports).start()
        kernels.append(again)
        second = wait_bot_running(again)["pid"]
        assert second != first
        back = term.wait_screen(lambda s: panels_live(second)(s) and "UNREACHABLE" not in s,
                                25, "the panels after the restart")
        (tmp_path / "capture-back.txt").write_text(back)
        term.tmux("send-keys", "-t", "tap", "C-c")
        assert term.pane_exit() == 0
    finally:
        term.close()
