"""Shadow limits in a real kernel: ``config/risk.shadow.yaml`` is judged beside the real
limits on every order through the bot link; the decision never changes, each order
the shadow would have answered otherwise is journaled as ``shadow.decision``, and
the risk snapshot (``kernel status``) carries the counts. The shadow judges after the
reply: its row follows the decision's in the journal, and none is lost at a stop."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kernel.journal import read_journal
from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    ask,
    journal_bodies,
    ready_bot,
    until,
)
from tests.support.link import order

pytestmark = pytest.mark.timeout(30)

SHADOW_YAML = RISK_YAML.replace("max_order_notional: 2500", "max_order_notional: 1000")


async def test_the_shadow_never_decides_and_journals_each_difference(
    tmp_path: Path, start_kernel: Any,
) -> None:
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "risk.shadow.yaml").write_text(textwrap.dedent(SHADOW_YAML),
                                                          encoding="utf-8")
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    try:
        big = await ask(bot, "big", qty=0.03)  # 1,500 USDT: within 2,500, over the shadow's 1,000
        small = await ask(bot, "small", qty=0.01)  # 500 USDT: within both
    finally:
        bot.close()
    assert (big.verdict, small.verdict) == ("ALLOW", "ALLOW")
    rows = journal_bodies(harness, "shadow.decision")
    assert [(r["request_id"], r["verdict"], r["shadow_verdict"], r["shadow_code"])
            for r in rows] == [("big", "ALLOW", "DENY", "fat_finger_notional")]
    assert "1000" in rows[0]["shadow_reason"]

    def counted() -> dict[str, Any] | None:
        found = [s["shadow"] for s in journal_bodies(harness, "risk.state") if s.get("shadow")]
        return found[-1] if found and found[-1]["orders"] == 2 else None

    await until(counted, "a snapshot with the shadow's counts")
    assert counted() == {"orders": 2, "allow_to_deny": 1, "deny_to_allow": 0, "other_code": 0}


def seqs_of(harness: KernelHarness, request_id: str) -> dict[str, int]:
    """The journal seq of each row about ``request_id``, by kind."""
    rows = read_journal(harness.kernel.settings.journal_path, limit=100_000)
    return {r.kind: r.seq for r in rows
            if msgspec.msgpack.decode(r.payload).get("request_id") == request_id}


def with_shadow(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "risk.shadow.yaml").write_text(textwrap.dedent(SHADOW_YAML),
                                                          encoding="utf-8")


async def test_the_reply_does_not_wait_for_the_shadow(tmp_path: Path, start_kernel: Any) -> None:
    """The shadow's row is queued after the decision's (the gateway stages the decision
    row, commits the burst and sends the reply before the shadow judges), where the
    judging inside the decision put it between the request and the decision."""
    with_shadow(tmp_path)
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    try:
        assert (await ask(bot, "big", qty=0.03)).verdict == "ALLOW"
        await until(lambda: "shadow_decision" in seqs_of(harness, "big"), "the shadow's row")
    finally:
        bot.close()
    seqs = seqs_of(harness, "big")
    assert seqs["order_request"] < seqs["order_decision"] < seqs["shadow_decision"]
    engine = engines.current
    for i in range(2):  # as the gateway calls it: synchronously, in the kernel's loop
        engine.decide(order(f"more-{i}", bot_id="qe-1", qty=0.01), time.time())
    counts = engine._snapshot(time.time()).shadow  # in the same turn: the queue is counted
    assert counts is not None and counts.orders == 3


async def test_orders_decided_just_before_a_stop_keep_their_rows(
    tmp_path: Path, start_kernel: Any,
) -> None:
    """Decided and stopped in the same turn of the loop: the engine's stop judges what
    is still queued before the journal closes, and the counts include them."""
    with_shadow(tmp_path)
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    bot.close()
    engine = engines.current
    for i in range(3):  # as the gateway calls it: synchronously, in the kernel's loop
        decided = engine.decide(order(f"late-{i}", bot_id="qe-1", qty=0.03), time.time())
        assert decided.verdict == "ALLOW"
    await engine.stop()  # judges the queue first, though nothing yielded to the loop
    rows = read_journal(harness.kernel.settings.journal_path, limit=100_000)
    shadow = [r for r in rows if r.kind == "shadow_decision"]
    assert [msgspec.msgpack.decode(r.payload)["request_id"] for r in shadow] == [
        "late-0", "late-1", "late-2"]
    last_save = max(r.seq for r in rows if r.kind == "risk_state_saved")
    assert shadow[-1].seq < last_save  # before the stop's save: not left to the loop's turn
    await harness.stop()


async def test_without_the_file_there_is_no_shadow(tmp_path: Path, start_kernel: Any) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    try:
        assert (await ask(bot, "big", qty=0.03)).verdict == "ALLOW"
    finally:
        bot.close()
    assert journal_bodies(harness, "shadow.decision") == []
    assert all(s.get("shadow") is None for s in journal_bodies(harness, "risk.state"))
