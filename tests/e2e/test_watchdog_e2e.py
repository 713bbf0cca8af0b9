"""``kernel run`` with the reference bot, as a user runs it: restarts, kills, never twice."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import msgspec
import psutil

from kernel.journal import read_journal
from tests.conftest import write_config
from tests.support.platforms import SIGNALS_THE_TAP
from tests.support.processes import ROOT, KernelProcess, kernel_command


def reference_bot(orphan_timeout_s: float) -> str:
    return json.dumps(["{python}", "scripts/run_bot.py", "--orphan-timeout",
                       str(orphan_timeout_s), "--bot-id", "qe-e2e"])


def with_bot(root: Path, orphan_timeout_s: float = 2.0) -> KernelProcess:
    """A kernel whose config starts the reference bot in paper mode."""
    process = KernelProcess(root)
    write_config(root, ports=process.ports, mode="paper",
                 bot_command=reference_bot(orphan_timeout_s))
    return process


def journal(root: Path, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(root / "data" / "journal.sqlite3", topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


def wait_until(predicate: Any, timeout_s: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s")
        time.sleep(0.05)
    return result


def running_bot(root: Path, other_than: int = 0) -> int:
    """The pid of the bot the watchdog says is running (after its first heartbeat)."""
    def find() -> int:
        pids = [e["pid"] for e in journal(root, "bot.lifecycle") if e["state"] == "running"]
        return pids[-1] if pids and pids[-1] != other_than else 0
    pid: int = wait_until(find, what="a running bot")
    return pid


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@SIGNALS_THE_TAP
def test_kill_9_of_the_bot_shows_a_restart_in_the_tap_and_ctrl_c_leaves_nothing(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = with_bot(tmp_path).start()
    kernels.append(kernel)
    first = running_bot(tmp_path)
    cmdline = psutil.Process(first).cmdline()
    assert "--mode=paper" in cmdline and kernel.endpoint("link") in cmdline
    tap = subprocess.Popen(kernel_command("--config-dir", str(kernel.config_dir), "tap",
                                          "--json", "--topic", "bot.lifecycle", "--topic",
                                          "bot.state"),
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert tap.stdout is not None
        first_line = tap.stdout.readline()  # bot.state comes every 0.5 s: the tap is live
        assert json.loads(first_line)["topic"].startswith("bot.")
        psutil.Process(first).kill()
        second = running_bot(tmp_path, other_than=first)
        assert kernel.stop() == 0
    finally:
        tap.send_signal(signal.SIGINT)
        out = tap.communicate(timeout=10)[0]
    seen = [json.loads(line)["body"]["state"] for line in out.splitlines() if line.strip()]
    assert {"crashed", "restarting", "starting", "running"} <= set(seen)
    assert not alive(first) and not alive(second)
    assert "Traceback" not in kernel.stderr()


def test_a_killed_kernel_leaves_no_bot_and_the_next_run_comes_up_clean(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = with_bot(tmp_path, orphan_timeout_s=2.0).start()
    kernels.append(kernel)
    bot = running_bot(tmp_path)
    assert kernel.proc is not None
    kernel.proc.kill()
    kernel.proc.wait(10)
    killed_at = time.monotonic()
    psutil.Process(bot).wait(2.0 + 10)  # the bot notices and leaves by itself (code 3)
    assert time.monotonic() - killed_at < 2.0 + 5.0

    again = with_bot(tmp_path, orphan_timeout_s=2.0).start()
    kernels.append(again)
    second = running_bot(tmp_path, other_than=bot)
    assert again.stop() == 0
    assert not alive(second)
    assert [a for a in journal(tmp_path, "anomaly") if a["kind"] == "bot_left_running"] == []


def test_a_bot_left_by_a_killed_kernel_is_stopped_not_duplicated(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = with_bot(tmp_path, orphan_timeout_s=120.0).start()
    kernels.append(kernel)
    old = running_bot(tmp_path)
    assert kernel.proc is not None
    kernel.proc.kill()
    kernel.proc.wait(10)
    assert alive(old)  # still there: its orphan timeout is long

    again = with_bot(tmp_path, orphan_timeout_s=120.0).start()
    kernels.append(again)
    new = running_bot(tmp_path, other_than=old)
    assert not alive(old)
    (note,) = [a for a in journal(tmp_path, "anomaly") if a["kind"] == "bot_left_running"]
    assert f"pid {old}" in note["detail"]
    assert again.stop() == 0
    assert not alive(new)


def test_a_second_kernel_run_on_the_same_data_dir_is_refused_naming_the_pid(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = with_bot(tmp_path).start()
    kernels.append(kernel)
    running_bot(tmp_path)
    second = kernel.cli("run", timeout_s=30)
    assert second.returncode == 3
    text = " ".join(second.stderr.decode().split())
    assert kernel.proc is not None and f"another kernel (pid {kernel.proc.pid}" in text
    assert "Traceback" not in text
    starts = [e for e in journal(tmp_path, "bot.lifecycle") if e["state"] == "starting"]
    assert len(starts) == 1
    assert kernel.stop() == 0
