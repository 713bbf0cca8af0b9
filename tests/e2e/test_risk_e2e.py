"""``kernel run`` with the reference bot losing money: trading halts, the bot is
commanded to close everything, closes with reduce-only orders, and stays flat.

The loss is driven by the limits, not by the bot: a 1 USDT daily loss and
drawdown are reached within a trade or two of the bot's 1,000 USDT scalps.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kernel.journal import read_journal
from tests.support.processes import ROOT, KernelProcess

pytestmark = pytest.mark.timeout(60)

TIGHT_LIMITS = """\
    max_daily_loss: {usdt: 1}
    max_drawdown: {usdt: 1}
    max_orders_per_second: 20
    close_timeout_s: 10
    symbols:
      BTCUSDT: {max_order_qty: 0.05}
      ETHUSDT: {max_order_qty: 1}
    """


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path)  # mode off: this test starts the bot itself
    (process.config_dir / "risk.yaml").write_text(textwrap.dedent(TIGHT_LIMITS), encoding="utf-8")
    yield process.start()
    process.kill()


@pytest.fixture
def bot(kernel: KernelProcess, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(tmp_path / "bot.out", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "scripts/run_bot.py", "--mode=paper", "--gateway",
             kernel.endpoint("link"), "--tick-interval", "0.05", "--seed", "7"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    yield proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def bodies(kernel: KernelProcess, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(kernel.journal_path, topic_prefix=topic, limit=1_000_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


def eventually(found: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def test_the_reference_bot_under_a_loss_ends_halted_and_flat(
    kernel: KernelProcess, bot: subprocess.Popen[bytes], tmp_path: Path,
) -> None:
    tripped = eventually(lambda: bodies(kernel, "risk.limit"), "a loss limit tripped")
    action = tripped[0]["action"]
    if action == "close_all":  # a position was open: the bot must close it
        eventually(lambda: [b for b in bodies(kernel, "risk.halt")
                            if b["type"] == "flat_confirmed"], "the bot confirmed flat")
        commands = [b for b in bodies(kernel, "bot.command") if b["type"] == "command"]
        assert [c["action"] for c in commands] == ["close_all"]
        acks = eventually(lambda: bodies(kernel, "bot.command_ack"), "the bot acknowledged")
        assert acks[0]["command_id"] == commands[0]["command_id"] and acks[0]["ok"]
    time.sleep(1.0)  # the bot keeps trying to open trades meanwhile, and is refused
    bot.terminate()
    assert bot.wait(10) == 0

    beats = bodies(kernel, "bot.heartbeat")
    assert beats[-1]["positions"] == [], (tmp_path / "bot.out").read_text()
    state = bodies(kernel, "risk.state")[-1]
    assert state["trading_state"] == "HALTED"
    assert not state["manual_close_needed"] and not state["close_requested"]
    halted_at = next(b["ts"] for b in bodies(kernel, "risk.halt")
                     if b["type"] == "trading_state_changed" and b["current"] == "HALTED")
    requests = {b["request_id"]: b for b in bodies(kernel, "order.request")}
    after = [b for b in bodies(kernel, "order.decision")
             if requests[b["request_id"]]["ts"] > halted_at]
    assert after, "the bot asked for nothing after the halt"
    assert all(requests[d["request_id"]]["reduce_only"] for d in after
               if d["verdict"] == "ALLOW")
    assert any(d["code"] == "halted" for d in after)
    assert kernel.stop() == 0
