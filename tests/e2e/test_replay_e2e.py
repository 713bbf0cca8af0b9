"""``kernel replay`` on a real day: ``kernel run`` with the reference bot, a limit halt
and a confirmed resume, then kill -9 of the kernel and the bot and a start again.
Replayed with the limits in force, every decision comes out the same; replayed with
a tighter fat-finger limit, the expected flips appear, approximate after the first."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pytest

from kernel.journal import read_journal
from risk.days import day_of
from tests.conftest import write_config
from tests.support.processes import ROOT, KernelProcess

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="signals differ on Windows"),
              pytest.mark.timeout(240)]

RISK_YAML = (ROOT / "config" / "risk.yaml").read_text(encoding="utf-8").replace(
    "max_consecutive_losses: 6", "max_consecutive_losses: 2")
"""The shipped limits, with a loss streak short enough to trip within the test."""
BOT = json.dumps(["{python}", "scripts/run_bot.py", "--orphan-timeout", "2",
                  "--bot-id", "qe-replay", "--tick-interval", "0.05", "--seed", "5"])


def start(root: Path) -> KernelProcess:
    process = KernelProcess(root)
    write_config(root, ports=process.ports, mode="paper", bot_command=BOT, risk_yaml=RISK_YAML)
    return process.start(timeout_s=30)


def rows(root: Path, topic: str) -> list[dict[str, Any]]:
    found = read_journal(root / "data" / "journal.sqlite3", topic_prefix=topic, limit=1_000_000)
    return [msgspec.msgpack.decode(r.payload) for r in found]


def wait_until(predicate: Any, what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.2)
    return result


def replay(kernel: KernelProcess, risk: Path, *extra: str) -> dict[str, Any]:
    first = day_of(min(r["ts"] for r in rows(kernel.root, "kernel.state")), 0)
    result = kernel.cli("replay", "--from", first, "--to", day_of(time.time(), 0),
                        "--risk", str(risk), "--json", *extra, timeout_s=120)
    assert result.returncode == 0, result.stderr.decode()
    decoded: dict[str, Any] = json.loads(result.stdout)
    return decoded


def test_a_day_with_a_halt_and_a_restart_replays_exactly(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    kernel = start(tmp_path)
    kernels.append(kernel)
    wait_until(lambda: rows(tmp_path, "risk.limit"), "a live limit halt (loss streak)", 120)
    resumed = kernel.cli("resume", "--yes", "--reason", "replay test")
    assert resumed.returncode == 0, resumed.stderr.decode()
    seen = len(rows(tmp_path, "order.decision"))
    wait_until(lambda: len(rows(tmp_path, "order.decision")) > seen + 20, "trading resumed")
    bot = [e["pid"] for e in rows(tmp_path, "bot.lifecycle") if e["state"] == "running"][-1]
    assert kernel.proc is not None
    kernel.proc.kill()  # kill -9 of the kernel and its bot together
    psutil.Process(bot).kill()
    kernel.proc.wait(10)
    seen = len(rows(tmp_path, "order.decision"))
    kernel = start(tmp_path)
    kernels.append(kernel)
    wait_until(lambda: len(rows(tmp_path, "order.decision")) > seen + 20, "trading restarted")

    live_risk = kernel.config_dir / "risk.yaml"
    running = replay(kernel, live_risk)  # read-only beside a running kernel
    assert running["counts"]["orders"] > 40
    assert kernel.stop(signal.SIGINT) == 0

    same = replay(kernel, live_risk)
    decisions = rows(tmp_path, "order.decision")
    assert same["counts"]["orders"] == len(decisions)
    assert same["exact"] and same["flips"] == [], json.dumps(same["flips"][:3])
    assert same["counts"]["reason_differs"] == 0
    assert same["trips"] and all(t["live"] for t in same["trips"])
    assert same["live_only_trips"] == []

    tight = tmp_path / "tight.yaml"
    tight.write_text(RISK_YAML.replace("max_order_notional: 2500", "max_order_notional: 500"),
                     encoding="utf-8")
    flipped = replay(kernel, tight)
    assert not flipped["exact"]
    first = flipped["flips"][0]
    assert (first["old_verdict"], first["new_code"]) == ("ALLOW", "fat_finger_notional")
    assert first["exact"] and not any(f["exact"] for f in flipped["flips"][1:])
    assert flipped["exact_through_seq"] == first["seq"]
    assert flipped["counts"]["allow_to_deny"]["fat_finger_notional"] >= 1
