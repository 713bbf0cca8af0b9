"""The watchdog with real bot processes: start, stop, crash, crash loop, bad command."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path
from typing import Any

import psutil
import pytest

from kernel.exit_codes import EXIT_OK
from tests.support.fake_bots import command
from tests.support.watchdog_harness import WatchdogKernel, running, start_watchdog

__all__ = ["start_watchdog"]  # the fixture, used by name

BACKOFF = 0.05  # backoff_initial_s in the test timings (tests/conftest.py)


def bot_log(harness: WatchdogKernel) -> str:
    return "".join(p.read_text(encoding="utf-8")
                   for p in sorted(harness.settings.log_dir.glob("bot-*.log")))


async def test_the_bot_starts_in_the_kernel_mode_and_stops_on_the_shutdown_command(
    start_watchdog: Any,
) -> None:
    harness: WatchdogKernel = await start_watchdog(command("steady"), mode="demo")
    (running_event,) = await harness.wait_state("running")
    pid = running_event["pid"]
    link = harness.kernel.endpoints["bot_link"]
    assert f"fake bot steady pid={pid} mode=demo gateway={link}" in bot_log(harness)
    states = await harness.wait_for(
        lambda: [s for s in harness.events("bot.state") if s["equity"] == 10_000.0])
    assert states[-1]["state"] == "running" and states[-1]["mode"] == "demo"
    assert states[-1]["pid"] == pid and states[-1]["realized_pnl"] == 1.5
    record = json.loads((harness.settings.data_dir / "bot.pid").read_text())
    assert record["pid"] == pid and record["create_time"] > 0

    assert await harness.stop() == EXIT_OK
    assert not running(pid)
    (exited,) = harness.events("bot.exit")
    assert exited["expected"] and exited["exit_code"] == 0
    assert "stopped on the shutdown command" in exited["description"]
    assert "shutting down on command" in exited["last_lines"]
    assert [a["detail"] for a in harness.events("bot.command_ack")] == ["bye"]
    assert not (harness.settings.data_dir / "bot.pid").exists()


async def test_the_bot_gets_no_secret_of_the_supervisor_but_its_configured_env(
    start_watchdog: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The LLM key goes to the SDK and nothing else (kernel/child_env.py): the bot's
    environment is the kernel's without the deny-list, plus ``bot.env`` as written."""
    names = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN",
             "EXCHANGE_API_KEY", "BOT_SETTING", "PYTHONUNBUFFERED", "PYTHONUTF8")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "must-not-leak")
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", "must-not-leak")
    monkeypatch.setenv("EXCHANGE_API_KEY", "the bot's own")
    harness: WatchdogKernel = await start_watchdog(
        command("steady", "--show-env", ",".join(names)), bot_env={"BOT_SETTING": "from yaml"})
    await harness.wait_state("running")
    log = bot_log(harness)
    assert "must-not-leak" not in log
    for name in names[:3]:
        assert f"env {name} unset" in log
    assert "env EXCHANGE_API_KEY=the bot's own" in log
    assert "env BOT_SETTING=from yaml" in log and "env PYTHONUNBUFFERED=1" in log
    assert "env PYTHONUTF8=1" in log  # its output is read as UTF-8 (kernel/child_env.py)
    await harness.stop()


async def test_the_bots_config_env_can_turn_utf8_mode_off(
    start_watchdog: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONUTF8", "1")
    harness: WatchdogKernel = await start_watchdog(
        command("steady", "--show-env", "PYTHONUTF8"), bot_env={"PYTHONUTF8": "0"})
    await harness.wait_state("running")
    assert "env PYTHONUTF8=0" in bot_log(harness)
    await harness.stop()


async def test_a_crashed_bot_is_restarted_within_a_second_plus_backoff(
    start_watchdog: Any,
) -> None:
    harness = await start_watchdog(command("crash", "--after", "0.4"))
    await harness.wait_state("running", count=2)
    crashed = harness.lifecycle("crashed")[0]
    restarted = next(e for e in harness.lifecycle("starting") if e["_ts"] > crashed["_ts"])
    assert restarted["_ts"] - crashed["_ts"] < 1.0 + BACKOFF
    assert restarted["pid"] != crashed["pid"]
    assert "exited with code 1" in crashed["detail"]
    assert "boom: deliberate crash" in crashed["detail"]  # the last line it printed
    exited = harness.events("bot.exit")[0]
    assert not exited["expected"] and exited["exit_code"] == 1
    assert exited["last_lines"][-1] == "boom: deliberate crash"
    assert "boom: deliberate crash" in bot_log(harness)


async def test_a_crash_loop_gives_up_halts_trading_and_leaves_the_bot_down(
    start_watchdog: Any,
) -> None:
    harness = await start_watchdog(command("crash_now"), watchdog={"max_restarts": 2})
    (gave_up,) = await harness.wait_state("gave_up")
    starts = harness.lifecycle("starting")
    assert len(starts) == 3  # the first start and max_restarts restarts
    gaps = [b["_ts"] - a["_ts"] for a, b in itertools.pairwise(starts)]
    # The delays the watchdog chose, as it reported them: exponential, never a tight
    # loop. (The gaps between starts add the crashing bot's own start-up time, which
    # varies by more than a backoff step on a loaded machine, so they are only bounded.)
    delays = [float(re.search(r"after ([0-9.]+) s", r["detail"]).group(1))
              for r in harness.lifecycle("restarting")]
    assert delays[1] > delays[0] >= BACKOFF
    assert all(gap >= delay for gap, delay in zip(gaps, delays, strict=True))
    assert "failed too often" in gave_up["detail"]
    (halt,) = harness.events("risk.halt_request")
    assert halt["code"] == "bot_gave_up" and halt["source"] == "watchdog"
    decision = await harness.order_decision()
    assert (decision.verdict, decision.code) == ("DENY", "bot_gave_up")
    assert "fatal: cannot load the strategy (deliberate)" in \
        harness.events("bot.exit")[-1]["last_lines"]
    await harness.wait_for(lambda: harness.events("bot.state")[-1]["state"] == "gave_up")
    await harness.wait_for(lambda: len(harness.events("bot.state")) > 3 + len(starts) * 2)
    assert len(harness.lifecycle("starting")) == 3  # still down: no restart after giving up


async def test_a_missing_command_is_a_clear_error_without_a_restart_loop(
    start_watchdog: Any, tmp_path: Path,
) -> None:
    missing = str(tmp_path / "no-such-bot")
    harness = await start_watchdog(json.dumps([missing]))
    (gave_up,) = await harness.wait_state("gave_up")
    assert f"command '{missing}' not found" in gave_up["detail"]
    assert "paths.yaml" in gave_up["detail"]
    assert harness.lifecycle("starting") == []
    decision = await harness.order_decision()
    assert decision.code == "bot_gave_up" and "not found" in decision.reason
    state = await harness.wait_for(
        lambda: [s for s in harness.events("bot.state") if s["state"] == "gave_up"])
    assert "not found" in state[-1]["last_exit"]
    assert len(harness.lifecycle("gave_up")) == 1


async def test_a_missing_script_crash_loops_with_backoff_then_gives_up(
    start_watchdog: Any,
) -> None:
    harness = await start_watchdog('["{python}", "no_such_bot_script.py"]',
                                   watchdog={"max_restarts": 1})
    await harness.wait_state("gave_up")
    assert len(harness.lifecycle("starting")) == 2
    assert harness.events("bot.exit")[0]["exit_code"] == 2
    assert any("no_such_bot_script.py" in line
               for line in harness.events("bot.exit")[0]["last_lines"])


async def test_a_bot_that_ignores_shutdown_and_sigterm_is_killed_in_time(
    start_watchdog: Any,
) -> None:
    harness = await start_watchdog(command("stubborn"))
    (event,) = await harness.wait_state("running")
    loop_time = harness.task.get_loop().time
    began = loop_time()
    assert await harness.stop() == EXIT_OK
    assert loop_time() - began < 2.0 + 1.0  # the kernel's shutdown_timeout_s, and margin
    assert not running(event["pid"])
    (exited,) = harness.events("bot.exit")
    assert "killed" in exited["description"] and exited["expected"]


async def test_stopping_the_bot_stops_its_whole_process_tree(
    start_watchdog: Any, tmp_path: Path,
) -> None:
    """The group (POSIX) or the Job Object (Windows) holds the bot's child too."""
    child_file = tmp_path / "child.pid"
    harness = await start_watchdog(command("family", "--child-pid-file", str(child_file)))
    await harness.wait_state("running")
    child = int(child_file.read_text())
    assert running(child)
    await harness.stop()
    assert await gone(child)


async def test_a_killed_bots_grandchild_outside_its_group_dies_with_it(
    start_watchdog: Any, tmp_path: Path,
) -> None:
    """A bot that ignores the shutdown command and SIGTERM is killed; its child, which
    left the bot's process group for a session of its own, is found and killed too."""
    child_file = tmp_path / "child.pid"
    harness = await start_watchdog(command("stubborn_family", "--child-pid-file",
                                           str(child_file)))
    (event,) = await harness.wait_state("running")
    child = int(child_file.read_text())
    assert running(child) and running(event["pid"])
    assert await harness.stop() == EXIT_OK
    assert "killed" in harness.events("bot.exit")[0]["description"]
    assert not running(event["pid"]) and await gone(child)


async def test_a_crashed_bots_grandchild_does_not_outlive_it(
    start_watchdog: Any, tmp_path: Path,
) -> None:
    child_file = tmp_path / "child.pid"
    harness = await start_watchdog(command("family", "--child-pid-file", str(child_file)))
    await harness.wait_state("running")
    child = int(child_file.read_text())
    bot = harness.lifecycle("running")[0]["pid"]
    psutil.Process(bot).kill()  # the bot dies; the watchdog must sweep what it left
    await harness.wait_for(lambda: harness.events("bot.exit"))
    assert await gone(child)
    await harness.stop()


async def gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether ``pid`` ends within a generous ``timeout_s`` (a kill is asynchronous)."""
    for _ in range(int(timeout_s / 0.05)):
        if not running(pid):
            return True
        await asyncio.sleep(0.05)
    return not running(pid)


async def test_the_watchdog_can_be_left_out(start_watchdog: Any) -> None:
    harness = await start_watchdog(command("steady"),
                                   kernel_extra="actors: {watchdog: {enabled: false}}\n")
    assert [r.name for r in harness.kernel._runners] == []
    assert await harness.stop() == EXIT_OK
    assert harness.lifecycle() == []
