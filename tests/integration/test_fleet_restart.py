"""``kill -9`` of ``kernel run`` with several bots: each bot's halt and ledger come back.

Each bot's engine saves its own state (journal rows of source ``risk.<id>``) and
replays only its own order facts after the save, so after the restart the halted
bot is still halted and the other one trades on from its own start equity and
position, exactly as the one-bot restart does (test_risk_engine_restart.py).
"""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bus.protocol import Hello, OrderDecision, Welcome
from kernel.journal import read_journal
from tests.integration._fleet import FLEET_RISK_YAML, beat_of
from tests.integration.test_risk_engine_restart import Bot, journaled
from tests.support.link import order
from tests.support.processes import KILLED, KernelProcess

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
              pytest.mark.timeout(90)]

HELD = [("BTCUSDT", 0.1, 50_000.0, 50_000.0)]
DOWN = {"equity": 9_650.0, "positions": [("BTCUSDT", 0.1, 50_000.0, 46_500.0)],
        "marks": {"BTCUSDT": 46_500.0}}


class FleetBot(Bot):
    """The restart test's blocking bot, under any bot id."""

    def __init__(self, endpoint: str, bot_id: str) -> None:
        super().__init__(endpoint)
        self.bot_id = bot_id

    def greet(self) -> Welcome:
        self.sock.send(msgspec.msgpack.encode(Hello(bot_id=self.bot_id, mode="paper", pid=7)))
        welcome = self.recv()
        assert isinstance(welcome, Welcome), welcome
        return welcome

    def beat(self, seq: int, **fields: Any) -> None:
        self.send(beat_of(self.bot_id, seq, **fields))

    def order(self, request_id: str, **fields: Any) -> OrderDecision:
        self.sock.send(msgspec.msgpack.encode(order(request_id, bot_id=self.bot_id, **fields)))
        while True:
            reply = self.recv()
            if isinstance(reply, OrderDecision):
                return reply


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    process = KernelProcess(tmp_path, bots="- {id: qe-1}\n- {id: qe-2}\n")
    (process.config_dir / "risk.yaml").write_text(textwrap.dedent(
        FLEET_RISK_YAML.replace("max_gross_notional: 6000", "max_gross_notional: 100000")),
                                                  encoding="utf-8")
    yield process.start()
    process.kill()


def saved(kernel: KernelProcess, bot_id: str) -> dict[str, Any]:
    """The newest state qe-N's engine saved (each engine saves under its own name)."""
    mine = [msgspec.msgpack.decode(r.payload) for r in
            read_journal(kernel.journal_path, topic_prefix="risk.saved", limit=100_000)
            if r.source == f"risk.{bot_id}"]
    assert mine
    return mine[-1]["state"]


def test_each_bots_halt_and_ledger_survive_kill_9(kernel: KernelProcess) -> None:
    one, two = (FleetBot(kernel.endpoint("link"), b) for b in ("qe-1", "qe-2"))
    one.greet()
    two.greet()
    one.beat(1, positions=HELD)
    two.beat(1, equity=20_000.0, positions=[("ETHUSDT", 1.0, 3_000.0, 3_000.0)])
    journaled(kernel, "risk.saved", lambda b: Decimal(b["state"]["start_equity"] or 0) == 20_000)
    one.beat(2, **DOWN)  # qe-1 loses 350: over its own 300, halted for the day
    journaled(kernel, "risk.limit", lambda b: b["code"] == "daily_loss_limit")
    before = two.order("before", qty=0.01, symbol="ETHUSDT", price=3_000.0)
    assert before.verdict == "ALLOW", before.reason
    one.close()
    two.close()

    assert kernel.proc is not None
    kernel.proc.kill()
    assert kernel.proc.wait(10) == KILLED
    kernel.start()
    restarted = time.time()
    one, two = (FleetBot(kernel.endpoint("link"), b) for b in ("qe-1", "qe-2"))
    try:
        assert one.greet() is not None
        two.greet()
        denied = one.order("after-1", qty=0.001, price=46_500.0)
        one.beat(3, **DOWN)
        two.beat(2, equity=20_000.0, positions=[("ETHUSDT", 1.0, 3_000.0, 3_000.0)])
        journaled(kernel, "risk.state", lambda b: b.get("bot_id") == "qe-2"
                  and b["ts"] > restarted and b["trading_state"] == "ACTIVE")
        allowed = two.order("after-2", qty=0.01, symbol="ETHUSDT", price=3_000.0)
    finally:
        one.close()
        two.close()
    assert (denied.verdict, denied.code) == ("DENY", "halted")
    assert denied.reason.startswith("bot:qe-1: ") and "max_daily_loss 300" in denied.reason
    assert allowed.verdict == "ALLOW", allowed.reason
    assert Decimal(saved(kernel, "qe-2")["start_equity"]) == 20_000
    assert Decimal(saved(kernel, "qe-1")["start_equity"]) == 10_000
    assert Decimal(saved(kernel, "qe-2")["positions"]["ETHUSDT"]["qty"]) == 1
    # qe-2's order allowed before the kill is still reserved (replayed from the journal)
    assert "before" in saved(kernel, "qe-2")["open_orders"]
