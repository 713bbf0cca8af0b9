"""A risk state saved in slices comes back whole after ``kill -9`` of ``kernel run``:
the orders the slices hold, and those allowed after the newest save (replayed)."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from agents.risk._parts import PART_ORDERS
from kernel.journal import read_journal
from tests.integration._risk_link import RISK_YAML, heartbeat
from tests.integration.test_risk_engine_restart import (
    Bot,
    active,
    bodies,
    journaled,
    kill_9_and_restart,
)
from tests.support.processes import KernelProcess

pytestmark = pytest.mark.timeout(120)

MANY = PART_ORDERS + 300
ROOMY = (RISK_YAML.replace("max_open_orders: 20", f"max_open_orders: {MANY + 10}")
         .replace("max_notional_per_symbol: 5000", "max_notional_per_symbol: 100000")
         .replace("max_orders_per_second: 1000", "max_orders_per_second: 100000"))


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path)
    (process.config_dir / "risk.yaml").write_text(textwrap.dedent(ROOMY), encoding="utf-8")
    yield process.start()
    process.kill()


def newest_open_orders(kernel: KernelProcess, after_seq: int) -> int | None:
    rows = read_journal(kernel.journal_path, after_seq=after_seq, topic_prefix="risk.state",
                        limit=100_000)
    counts = [msgspec.msgpack.decode(r.payload).get("open_orders") for r in rows]
    return counts[-1] if counts else None


def test_open_orders_saved_in_slices_come_back_after_kill_9(kernel: KernelProcess) -> None:
    bot = Bot(kernel.endpoint("link"))
    bot.hello()
    bot.send(heartbeat(1))
    journaled(kernel, "risk.halt", active)
    for i in range(MANY):
        assert bot.ask(f"s{i}", qty=0.0001, price=50_000.0).verdict == "ALLOW"
    journaled(kernel, "risk.saved", lambda b: b["type"] == "risk_state_saved_in_parts",
              timeout_s=30)
    assert len(bodies(kernel, "risk.orders_saved")) >= 2
    bot.send(heartbeat(2))  # a fresh tick: the first ones are older than stale_tick_s now
    allowed, deadline = 0, time.monotonic() + 10
    while allowed < 3:  # after the save: the restore replays them from the journal
        assert time.monotonic() < deadline, "the late orders were not allowed"
        allowed += bot.ask(f"late{time.monotonic_ns()}", qty=0.0001,
                           price=50_000.0).verdict == "ALLOW"

    before = read_journal(kernel.journal_path, after_seq=0, limit=1_000_000)[-1].seq
    bot = kill_9_and_restart(kernel, bot)
    try:
        bot.hello()
        deadline = time.monotonic() + 30
        while newest_open_orders(kernel, before) != MANY + 3:
            assert time.monotonic() < deadline, (
                f"restored open orders: {newest_open_orders(kernel, before)}, "
                f"not {MANY + 3}")
            time.sleep(0.05)
        again = bot.ask("s0", qty=0.0001, price=50_000.0)  # remembered: a duplicate
        assert again.verdict == "DENY", again.reason
    finally:
        bot.close()
