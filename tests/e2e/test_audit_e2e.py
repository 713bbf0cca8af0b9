"""``kernel run`` with the reference bot, audited: the report's trades and PnL equal the
fills journaled; ``kernel report`` and ``kernel audit verify`` work with the kernel up
and down; a full disk or a corrupt journal fails trading closed, saying where."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from agents.audit.messages import DailyAuditCompleted
from bus.codec import encode, kernel_frame_decoder
from bus.protocol import Hello, OrderDecision, Welcome
from kernel.journal import read_journal
from risk.days import day_of
from tests.conftest import write_config
from tests.support.link import order
from tests.support.platforms import FULL_DISK
from tests.support.processes import ROOT, KernelProcess

pytestmark = pytest.mark.timeout(120)

FILLS_WANTED = 6


def with_bot(root: Path) -> KernelProcess:
    """A kernel whose watchdog starts the reference bot in paper mode, ticking fast."""
    process = KernelProcess(root)
    bot = json.dumps(["{python}", "scripts/run_bot.py", "--tick-interval", "0.05",
                      "--orphan-timeout", "3", "--bot-id", "qe-audit", "--seed", "11"])
    write_config(root, ports=process.ports, mode="paper", bot_command=bot)
    return process


def bodies(path: Path, topic: str) -> list[dict[str, Any]]:
    return [msgspec.msgpack.decode(r.payload)
            for r in read_journal(path, topic_prefix=topic, limit=1_000_000)]


def by_hand(fills: list[dict[str, Any]]) -> tuple[int, Decimal]:
    """Round trips closed and realised PnL net of fees, counted independently here,
    each fill's PnL and fee kept at 8 places (USDT money, docs/risk.md "Money")."""
    places = Decimal("0.00000001")
    qty: dict[tuple[str, str], Decimal] = {}
    avg: dict[tuple[str, str], Decimal] = {}
    trades, realized = 0, Decimal(0)
    for f in fills:
        key = (f["bot_id"], f["symbol"])
        size = Decimal(repr(f["qty"])) * (1 if f["side"] == "buy" else -1)
        price, held = Decimal(repr(f["price"])), qty.get(key, Decimal(0))
        realized -= Decimal(repr(f["fee"])).quantize(places, ROUND_HALF_EVEN)
        if held == 0 or (held > 0) == (size > 0):
            avg[key] = (abs(held) * avg.get(key, Decimal(0)) + abs(size) * price) / abs(held + size)
        else:
            closed = min(abs(held), abs(size))
            realized += (closed * (price - avg[key]) * (1 if held > 0 else -1)).quantize(
                places, ROUND_HALF_EVEN)
            if abs(size) >= abs(held):
                trades += 1
                avg[key] = price
        qty[key] = held + size
    return trades, realized


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = with_bot(tmp_path)
    yield process
    process.kill()


def test_the_report_of_a_session_equals_its_journaled_fills(kernel: KernelProcess) -> None:
    kernel.start()
    deadline = time.monotonic() + 60
    while len(bodies(kernel.journal_path, "order.fill")) < FILLS_WANTED:
        assert time.monotonic() < deadline, f"too few fills: {kernel.stderr()[-2000:]}"
        time.sleep(0.2)
    live = kernel.cli("report", "--format", "json")
    assert live.returncode == 0, live.stderr.decode()
    assert b"handed to the running kernel" in live.stderr
    assert kernel.cli("audit", "verify").returncode == 0
    assert kernel.cli("meta", "task", "daily-logs").returncode == 0
    assert kernel.stop() == 0

    fills = bodies(kernel.journal_path, "order.fill")
    trades, realized = by_hand(fills)
    day = day_of(fills[-1]["ts"], 0)
    stopped = kernel.cli("report", "--day", day, "--format", "json")
    assert stopped.returncode == 0 and b"kernel not running" in stopped.stderr
    audit = msgspec.json.decode(stopped.stdout, type=DailyAuditCompleted)
    assert audit.trades.fills == len(fills)
    assert audit.trades.trades == trades >= 1
    assert audit.pnl.realized_pnl == realized
    assert audit.pnl.fees == sum(Decimal(repr(f["fee"])) for f in fills)
    assert audit.orders.requested == len(bodies(kernel.journal_path, "order.request"))
    closed = bodies(kernel.journal_path, "audit.trade")  # the auditor may miss the last ones
    assert 1 <= len(closed) <= trades and all(c["type"] == "trade_closed" for c in closed)
    published = list(read_journal(kernel.journal_path, topic_prefix="audit.daily"))
    assert [r.source for r in published] == ["control:kernel-report"]
    verify = kernel.cli("audit", "verify", "--day", day)
    assert verify.returncode == 0 and b"the chain holds" in verify.stdout
    assert (kernel.root / "reports" / f"audit-{day}.md").exists()
    assert list((kernel.root / "meta" / "inbox").glob("daily-logs-*.md"))


def test_a_corrupt_journal_keeps_the_kernel_from_starting(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    process.journal_path.parent.mkdir(parents=True)
    process.journal_path.write_bytes(b"not a journal " * 500)
    process.start(wait_ready=False)
    assert process.proc is not None
    assert process.proc.wait(30) == 3
    said = " ".join(process.stderr().split())
    assert f"could not start: cannot open the journal {process.journal_path}" in said
    assert "file is not a database" in said and "move it aside" in said


@FULL_DISK
def test_a_full_disk_fails_trading_closed(tmp_path: Path) -> None:
    """The kernel runs with a file-size limit (RLIMIT_FSIZE): once the journal cannot
    grow, decisions are denied with journal_unavailable and the log names the file."""
    process = KernelProcess(tmp_path)
    limit = 1_200_000
    wrapper = ("import os, resource, sys; "
               f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
               "os.execv(sys.executable, "
               "[sys.executable, '-m', 'kernel.console.cli'] + sys.argv[1:])")
    with open(process.stderr_path, "wb") as stderr:
        process.proc = subprocess.Popen(
            [sys.executable, "-c", wrapper, "--config-dir", str(process.config_dir), "run"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    process.wait_ready(20)
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(process.endpoint("link"))
    try:
        # Said hello, so every order is decided and journaled (refusals beyond 20 a
        # second are not); an unknown symbol, so every one is denied.
        sock.send(encode(Hello(bot_id="qe-1", mode="paper", pid=1)))
        assert sock.poll(15_000), process.stderr()[-3000:]
        assert isinstance(kernel_frame_decoder.decode(sock.recv()), Welcome)
        code = ""
        for n in range(400):
            sock.send(encode(order(f"r{n}", symbol="NOPEUSDT")))
            assert sock.poll(15_000), process.stderr()[-3000:]
            reply = kernel_frame_decoder.decode(sock.recv())
            assert isinstance(reply, OrderDecision) and reply.verdict == "DENY"
            code = reply.code
            if code == "journal_unavailable":
                break
        assert code == "journal_unavailable", "the journal never filled up"
    finally:
        sock.close(linger=0)
        process.kill()
    said = " ".join(process.stderr().split())
    assert "could not commit" in said and "disk I/O error" in said
    assert str(process.journal_path) in "".join(said.split())  # the log may wrap the path
