"""Issue 15's day, as a new user lives it: ``kernel run`` with the reference bot in
paper mode; stop it; start it again; kill -9 the bot; kill -9 the kernel and the
bot; start again. Trading goes on each time without anyone typing a command: the
paper account comes back with the bot, the ledger agrees with it, and no false
alarm (position or PnL mismatch, denial storm) is raised."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pytest

from kernel.journal import read_journal
from tests.conftest import write_config
from tests.support.processes import KernelProcess

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]
RISK_YAML = (ROOT / "config" / "risk.yaml").read_text(encoding="utf-8").replace(
    "max_consecutive_losses: 6", "max_consecutive_losses: 1000")
"""The limits users get, but a run of losing scalps (a real halt, kept on purpose
across restarts) must not be what stops this test's trading."""
BOT = json.dumps(["{python}", "scripts/run_bot.py", "--orphan-timeout", "2",
                  "--bot-id", "qe-day", "--tick-interval", "0.1"])


def start(root: Path) -> KernelProcess:
    process = KernelProcess(root)
    write_config(root, ports=process.ports, mode="paper", bot_command=BOT, risk_yaml=RISK_YAML)
    return process.start(timeout_s=30)


def rows(root: Path, topic: str, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
    found = read_journal(root / "data" / "journal.sqlite3", topic_prefix=topic,
                         after_seq=after, limit=100_000)
    return [(r.seq, msgspec.msgpack.decode(r.payload)) for r in found]


def newest_seq(root: Path) -> int:
    every = rows(root, "")
    return every[-1][0] if every else 0


def wait_until(predicate: Any, what: str, timeout_s: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)
    return result


def holding(root: Path, after: int) -> bool:
    """The bot reported an open position since ``after`` (so a restart has one to keep)."""
    return any(b["positions"] and any(p["qty"] for p in b["positions"])
               for _, b in rows(root, "bot.heartbeat", after))


def trades_on(root: Path, after: int) -> bool:
    """An opening order was allowed with trading ACTIVE since ``after``, and filled."""
    requests = {r["request_id"]: r for _, r in rows(root, "order.request", after)}
    allowed = {d["request_id"] for _, d in rows(root, "order.decision", after)
               if d["verdict"] == "ALLOW" and d["trading_state"] == "ACTIVE"
               and not requests.get(d["request_id"], {}).get("reduce_only", True)}
    return bool(allowed & {f["request_id"] for _, f in rows(root, "order.fill", after)})


def bot_pid(root: Path, after: int) -> int:
    pids = [e["pid"] for _, e in rows(root, "bot.lifecycle", after) if e["state"] == "running"]
    return pids[-1] if pids else 0


def test_a_paper_day_with_a_stop_and_kill_9s_keeps_trading_untouched(
    tmp_path: Path, kernels: list[KernelProcess],
) -> None:
    assert "max_consecutive_losses: 1000" in RISK_YAML
    kernel = start(tmp_path)
    kernels.append(kernel)
    wait_until(lambda: trades_on(tmp_path, 0), "first trades")
    wait_until(lambda: holding(tmp_path, newest_seq(tmp_path) - 1), "a position to keep")
    assert kernel.stop() == 0  # 1. Ctrl-C, start again

    mark = newest_seq(tmp_path)
    kernel = start(tmp_path)
    kernels.append(kernel)
    wait_until(lambda: trades_on(tmp_path, mark), "trading after a stop and start")

    wait_until(lambda: holding(tmp_path, newest_seq(tmp_path) - 1), "a position to keep")
    mark = newest_seq(tmp_path)  # 2. kill -9 of the bot; the watchdog restarts it
    first = bot_pid(tmp_path, 0)
    psutil.Process(first).kill()
    wait_until(lambda: bot_pid(tmp_path, mark) not in (0, first), "the bot restarted")
    mark = newest_seq(tmp_path)
    wait_until(lambda: trades_on(tmp_path, mark), "trading after kill -9 of the bot")

    wait_until(lambda: holding(tmp_path, newest_seq(tmp_path) - 1), "a position to keep")
    second = bot_pid(tmp_path, 0)  # 3. kill -9 of the kernel and the bot together
    assert kernel.proc is not None
    kernel.proc.kill()
    psutil.Process(second).kill()
    kernel.proc.wait(10)
    mark = newest_seq(tmp_path)
    kernel = start(tmp_path)
    kernels.append(kernel)
    wait_until(lambda: trades_on(tmp_path, mark), "trading after kill -9 of both")

    def risk_state() -> object:
        status = kernel.status() or {}
        latest = status.get("latest")
        return latest.get("risk.state") if isinstance(latest, dict) else None

    risk = wait_until(risk_state, "a risk state in kernel status")
    assert isinstance(risk, dict) and risk["trading_state"] == "ACTIVE", risk
    assert (tmp_path / "data" / "paper-account-qe-day-paper.json").is_file()
    false_alarms = {"position_mismatch", "pnl_mismatch", "denial_storm", "equity_mismatch"}
    raised = [a for _, a in rows(tmp_path, "anomaly") if a.get("kind") in false_alarms]
    assert raised == [], raised
    reasons = [r for _, s in rows(tmp_path, "risk.") for r in s.get("reasons") or ()]
    assert {r.get("level") for r in reasons} <= {"REDUCING"}  # never a halt
    assert {r.get("code") for r in reasons} <= {"awaiting_heartbeat", "awaiting_reconciliation"}
    assert kernel.stop() == 0
