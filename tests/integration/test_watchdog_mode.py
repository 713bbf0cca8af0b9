"""Mode changes, and never twice: leftover bots from a killed kernel, the data-dir lock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from agents.watchdog._bot_process import find_leftover
from bus.protocol import Message
from kernel.config import python_command
from kernel.events import ModeChangeRequested
from kernel.exit_codes import EXIT_OK, EXIT_START_FAILED
from kernel.lockfile import PidFile, PidRecord
from tests.support.fake_bots import command
from tests.support.processes import ROOT, free_ports
from tests.support.watchdog_harness import Injector, running, start_watchdog

__all__ = ["start_watchdog"]  # the fixture, used by name


def mode_request(mode: str, reason: str = "operator test") -> Message:
    return ModeChangeRequested(mode=mode, requested_by="alice", reason=reason,  # type: ignore[arg-type]
                               ts=time.time())


async def test_a_mode_change_restarts_the_bot_in_the_new_mode_and_off_stops_it(
    start_watchdog: Any,
) -> None:
    Injector.queue = asyncio.Queue()
    harness = await start_watchdog(command("steady"), actors=[Injector])
    (first,) = await harness.wait_state("running")

    Injector.queue.put_nowait(mode_request("demo", "quieter market"))
    second = (await harness.wait_state("running", count=2))[1]
    (changed,) = harness.events("kernel.mode")[1:]  # after the request itself
    assert (changed["type"], changed["previous"], changed["mode"]) == ("mode_changed", "paper",
                                                                      "demo")
    assert (changed["requested_by"], changed["reason"]) == ("alice", "quieter market")
    assert not running(first["pid"]) and second["pid"] != first["pid"]
    exited = harness.events("bot.exit")[0]
    assert "shutdown command" in exited["description"] and "alice" in exited["description"]
    log = "".join(p.read_text() for p in harness.settings.log_dir.glob("bot-*.log"))
    assert f"pid={second['pid']} mode=demo" in log

    Injector.queue.put_nowait(mode_request("off"))
    await harness.wait_for(lambda: harness.events("bot.state")[-1]["state"] == "off")
    assert not running(second["pid"])
    assert len(harness.lifecycle("starting")) == 2

    Injector.queue.put_nowait(mode_request("paper"))
    await harness.wait_state("running", count=3)
    assert await harness.stop() == EXIT_OK


def start_by_hand(argv: list[str]) -> subprocess.Popen[bytes]:
    kwargs: dict[str, Any] = ({"start_new_session": True} if sys.platform != "win32" else {})
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, **kwargs)


async def test_a_bot_named_in_the_pid_file_is_stopped_before_a_new_one_starts(
    start_watchdog: Any, tmp_path: Path,
) -> None:
    argv = python_command(["{python}", "-m", "tests.support.fake_bots", "silent",
                           "--gateway", "tcp://127.0.0.1:9"])
    leftover = start_by_hand(argv)
    try:
        proc = psutil.Process(leftover.pid)
        await asyncio.sleep(0.2)  # let it exec, so its command line is the final one
        record = PidRecord(pid=leftover.pid, create_time=proc.create_time(), argv=argv)
        (tmp_path / "data").mkdir()
        PidFile(tmp_path / "data" / "bot.pid").write(record)
        assert find_leftover(record) is not None
        harness = await start_watchdog(command("steady"))
        await harness.wait_state("running")
        assert leftover.wait(5) is not None
        (note,) = [a for a in harness.events("anomaly") if a["kind"] == "bot_left_running"]
        assert f"pid {leftover.pid}" in note["detail"]
        assert harness.lifecycle("stopped")[0]["pid"] == leftover.pid
    finally:
        leftover.kill()
        leftover.wait(5)


async def test_a_process_running_the_exact_bot_command_is_not_duplicated(
    start_watchdog: Any,
) -> None:
    ports = dict(zip(("link", "pub", "sub", "control"), free_ports(4), strict=True))
    argv = python_command(["{python}", "-m", "tests.support.fake_bots", "silent",
                           "--mode=paper", "--gateway", f"tcp://127.0.0.1:{ports['link']}"])
    by_hand = start_by_hand(argv)
    try:
        await asyncio.sleep(0.2)
        harness = await start_watchdog(command("silent"), ports=ports)
        await harness.wait_state("starting")
        assert by_hand.wait(5) is not None
        assert [a for a in harness.events("anomaly") if a["kind"] == "bot_left_running"]
    finally:
        by_hand.kill()
        by_hand.wait(5)


def test_a_reused_pid_is_not_mistaken_for_the_bot() -> None:
    me = psutil.Process(os.getpid())
    assert find_leftover(PidRecord(pid=os.getpid(), create_time=me.create_time() - 100)) is None
    assert find_leftover(PidRecord(pid=os.getpid(), create_time=me.create_time(),
                                   argv=["not", "my", "command"])) is None
    assert find_leftover(PidRecord(pid=os.getpid(), create_time=me.create_time(),
                                   argv=me.cmdline())) is not None


async def test_a_second_kernel_on_the_same_data_dir_refuses_naming_the_first(
    start_watchdog: Any, tmp_path: Path,
) -> None:
    first = await start_watchdog(command("steady"))
    await first.wait_state("running")
    second = await start_watchdog(command("steady"), root=tmp_path, wait_ready=False)
    assert await asyncio.wait_for(second.task, 10) == EXIT_START_FAILED
    assert f"another kernel (pid {os.getpid()}" in second.kernel.start_error
    assert str(first.settings.data_dir) in second.kernel.start_error
    assert len(first.lifecycle("starting")) == 1  # the second started no bot
    assert await first.stop() == EXIT_OK
