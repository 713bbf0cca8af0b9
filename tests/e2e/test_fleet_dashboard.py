"""A fleet under ``kernel run``: two reference bots started by their watchdogs, an
external one, shown by ``kernel status`` and by the dashboard in a real 80x24 terminal.

The dashboard shows the fleet table (per bot: state, mode, equity, PnL, exposure,
heartbeat age, restarts) with totals when two bots or more are configured, and the
one-bot panels with ``kernel tap --bot ID``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_config
from tests.e2e.test_tap_dashboard import HEIGHT, WIDTH, Terminal
from tests.support.processes import ROOT, KernelProcess, kernel_command

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="tmux and signals: POSIX only"),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.timeout(150),
]

BOT = '["{python}", "scripts/run_bot.py", "--orphan-timeout", "2"]'
FLEET = f"""\
- {{id: grid-btc, command: {BOT}, cwd: "{ROOT.as_posix()}"}}
- {{id: trend-eth, command: {BOT}, cwd: "{ROOT.as_posix()}"}}
- {{id: far-3, account: sub}}
"""


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path)
    write_config(tmp_path, ports=process.ports, mode="paper", bots=FLEET)
    yield process.start()
    process.kill()


def status(kernel: KernelProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kernel_command("--config-dir", str(kernel.config_dir), "status",
                                         *args), cwd=ROOT, capture_output=True, text=True,
                          timeout=30, env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"})


def both_running(kernel: KernelProcess, timeout_s: float = 40.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    fleet: Any = None
    while time.monotonic() < deadline:
        done = status(kernel, "--json")
        if done.returncode == 0:
            fleet = json.loads(done.stdout).get("fleet")
            rows = {r["bot_id"]: r for r in (fleet or {}).get("bots", [])}
            if all(rows.get(b, {}).get("process") == "running"
                   and rows[b].get("equity") is not None for b in ("grid-btc", "trend-eth")):
                return fleet
        time.sleep(0.5)
    raise AssertionError(f"the two bots are not running within {timeout_s} s: {fleet}\n"
                         f"{kernel.stderr()[-3000:]}")


def test_status_and_the_dashboard_show_the_fleet(kernel: KernelProcess, tmp_path: Path) -> None:
    fleet = both_running(kernel)
    assert [r["bot_id"] for r in fleet["bots"]] == ["grid-btc", "trend-eth", "far-3"]
    assert fleet["totals"]["equity"] == pytest.approx(20_000, rel=0.05)
    text = status(kernel).stdout
    assert re.search(r"grid-btc +ACTIVE +running +paper", text), text
    assert "all bots" in text and "far-3" in text
    one = status(kernel, "--bot", "trend-eth").stdout
    assert "bot trend-eth: running" in one and "risk: ACTIVE" in one
    refused = status(kernel, "--bot", "nope")
    assert refused.returncode == 2 and "has: grid-btc, trend-eth, far-3" in refused.stderr

    term = Terminal(kernel_command("--config-dir", str(kernel.config_dir), "tap"), tmp_path)
    try:
        screen = term.wait_screen(
            lambda s: re.search(r"grid-btc +ACTIVE +paper +\d{1,2},\d{3} ", s) is not None
            and re.search(r"trend-eth +ACTIVE +paper", s) is not None
            and "all bots" in s, 30, "the fleet table")
        (tmp_path / "fleet.txt").write_text(screen)
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= HEIGHT and all(len(line) <= WIDTH for line in lines)
        # far-3 (external) never said hello: its engine waits, REDUCING, and so does the
        # portfolio's worst state; the line under the table says why
        assert re.search(r"all bots +REDUCING +\d\d,\d{3} ", screen)
        assert "far-3: waiting for the bot's first heartbeat" in screen
        assert "Ctrl-C quits" in lines[-1]
        term.tmux("send-keys", "-t", "tap", "C-c")
        assert term.pane_exit() == 0
    finally:
        term.close()
    (tmp_path / "one").mkdir()
    term = Terminal(kernel_command("--config-dir", str(kernel.config_dir), "tap", "--bot",
                                   "trend-eth"), tmp_path / "one")
    try:
        screen = term.wait_screen(lambda s: "bot trend-eth" in s and "● live" in s
                                  and re.search(r"risk (ACTIVE|REDUCING)", s) is not None,
                                  30, "the one-bot panels of trend-eth")
        assert "grid-btc" not in screen and "all bots" not in screen
    finally:
        term.close()
