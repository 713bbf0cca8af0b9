"""The operator's commands as a user types them, against `kernel run`."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from bus.codec import encode, encode_header
from kernel.journal import read_journal
from risk.messages import ReasonView, RiskStateSnapshot
from tests.support.processes import ROOT, KernelProcess, kernel_command


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path).start()
    yield process
    process.kill()


def journaled(kernel: KernelProcess, topic: str) -> list[dict[str, object]]:
    return [msgspec.msgpack.decode(r.payload)
            for r in read_journal(kernel.journal_path, topic_prefix=topic)]


def test_halt_and_resume_are_journaled_with_user_and_reason(kernel: KernelProcess) -> None:
    halt = kernel.cli("halt", "--reason", "CPI release in 5 minutes")
    assert halt.returncode == 0, halt.stderr
    assert b"halt done: trading HALTED" in halt.stderr and b"journal #" in halt.stderr
    resume = kernel.cli("resume", "--reason", "CPI out, spreads normal")
    assert resume.returncode == 0, resume.stderr  # a manual halt needs no confirmation
    commands = journaled(kernel, "operator.command")
    assert [(c["action"], c["reason"]) for c in commands] == [
        ("halt", "CPI release in 5 minutes"), ("resume", "CPI out, spreads normal")]
    assert all(c["user"] for c in commands)


def test_mode_and_close_all(kernel: KernelProcess) -> None:
    assert kernel.cli("mode", "paper", "--reason", "back to paper").returncode == 0
    status = kernel.status()
    assert status is not None and status["status"]["mode"] == "paper"  # type: ignore[index]
    assert kernel.cli("close-all", "--reason", "weekend").returncode == 0
    [mode] = journaled(kernel, "kernel.mode")[:1]
    assert mode["mode"] == "paper" and str(mode["requested_by"]).startswith("operator:")


def test_a_reason_is_required(kernel: KernelProcess) -> None:
    result = kernel.cli("halt")
    assert result.returncode == 2
    assert b"--reason" in result.stderr


def test_resume_after_a_limit_halt_needs_confirmation(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path, kernel_extra="actors:\n  risk: {enabled: false}\n").start()
    try:
        pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
        pub.linger = 0
        pub.connect(kernel.endpoint("pub"))
        halted = RiskStateSnapshot(
            ts=time.time(), day="2026-11-22", trading_state="HALTED",
            max_leverage=Decimal(2),
            reasons=(ReasonView(level="HALTED", code="daily_loss_limit",
                                text="daily loss 312.00 USDT reached max_daily_loss 300 USDT"),))
        for _ in range(200):  # until the kernel's state cache has it
            pub.send_multipart([b"risk.state", encode(halted), encode_header("test")])
            status = kernel.status()
            if status and "risk.state" in status["latest"]:  # type: ignore[operator]
                break
        pub.close()
        refused = kernel.cli("resume", "--reason", "looks fine")  # stdin is not a terminal
        assert refused.returncode == 5
        text = refused.stderr.decode()
        assert "halted by a limit" in text and "daily loss 312.00" in text
        assert "not resumed" in text
        assert journaled(kernel, "operator.command") == []
        confirmed = kernel.cli("resume", "--reason", "reviewed, resuming", "--yes",
                               "--timeout", "0.5")
        assert confirmed.returncode == 7  # no risk engine here: journaled, never answered
        assert "did not answer within 0.5 s" in confirmed.stderr.decode()
        [command] = journaled(kernel, "operator.command")
        assert command["confirmed"] is True
    finally:
        kernel.kill()


def test_commands_without_a_kernel_exit_3(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    result = subprocess.run(
        kernel_command("--config-dir", str(process.config_dir), "halt", "--reason", "x"),
        cwd=ROOT, capture_output=True, timeout=30)
    assert result.returncode == 3
    assert b"kernel not running" in result.stderr


def test_a_refused_risk_multiplier_exits_6_with_the_engines_reason(
    kernel: KernelProcess,
) -> None:
    refused = kernel.cli("risk-multiplier", "5", "--reason", "go big")
    assert refused.returncode == 6, refused.stdout + refused.stderr
    text = " ".join(refused.stdout.decode().split())
    assert "refused by the risk engine" in text and "outside its bounds [0.1, 1]" in text
    done = kernel.cli("risk-multiplier", "0.5", "--reason", "thin holiday market")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "risk multiplier 1 -> 0.5" in done.stdout.decode()
    risk: Any = None
    for _ in range(100):  # the snapshot after the change reaches the state cache
        status: Any = kernel.status()
        risk = status["latest"].get("risk.state") if status else None
        if risk and risk["risk_multiplier"] == 0.5:
            break
        time.sleep(0.05)
    assert risk is not None and risk["risk_multiplier_by"].startswith("operator:")
    assert risk["risk_multiplier_reason"] == "thin holiday market"
    assert risk["risk_multiplier_until"].startswith("until a person changes it")
    shown = " ".join(kernel.cli("status").stdout.decode().split())
    assert "risk multiplier x0.5 set by operator:" in shown and "thin holiday market" in shown
