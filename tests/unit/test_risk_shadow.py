"""Shadow limits, pure parts: the judge and its counts, its judgements deferred past
the reply, the audit's "shadow limits" section, and the line ``kernel status`` prints."""

from __future__ import annotations

import asyncio
import io
import logging

import msgspec
import pytest
from rich.console import Console

from agents.audit.figures import Event, shadow_stats
from agents.audit.markdown import render
from agents.risk.shadow import DeferredShadow, Shadow, journal_entry
from bus.protocol import OrderRequest
from kernel.console.commands.status import print_snapshot
from kernel.control_protocol import SnapshotReply, StatusReply
from kernel.event_format import severity_of
from risk import Decision, RiskState, decide, snapshot
from risk.messages import ShadowCounts, ShadowDecisionDiffered
from tests.unit.risk.risk_world import NOW, limits, order, ready
from tests.unit.test_audit_figures import a_day_of_trading


def test_the_shadow_judges_on_the_real_state_and_counts_each_kind_of_difference() -> None:
    real, tight = limits(), limits(max_order_notional=1_000.0)
    shadow = Shadow(tight)
    state = ready(real)
    big = order("ETHUSDT", qty=0.6, price=2_500.0)  # 1,500 USDT: 2,500 allows, 1,000 denies
    decision, _ = decide(big, state, real, NOW)
    row = shadow.judge(big, state, decision, NOW)
    assert row is not None and (row.verdict, row.shadow_verdict, row.shadow_code) == (
        "ALLOW", "DENY", "fat_finger_notional")
    small = order("ETHUSDT", qty=0.1, price=2_500.0)
    assert shadow.judge(small, state, decide(small, state, real, NOW)[0], NOW) is None
    loose = Shadow(real)
    denied, _ = decide(big, state, tight, NOW)
    assert loose.judge(big, state, denied, NOW) is not None
    counted = shadow.counted(snapshot(state, real, NOW)).shadow
    assert counted == ShadowCounts(orders=2, allow_to_deny=1)
    assert loose.counted(snapshot(state, real, NOW)).shadow == ShadowCounts(orders=1,
                                                                            deny_to_allow=1)


def a_burst(count: int) -> list[tuple[OrderRequest, RiskState, Decision]]:
    """``count`` orders decided one after the other, each with the state it was judged
    on: every one is allowed and stays open, so the state moves with each."""
    real = limits(max_orders_per_second=100.0)
    state, burst = ready(real), []
    for _ in range(count):
        sent = order("ETHUSDT", qty=0.1, price=2_500.0)
        decision, after = decide(sent, state, real, NOW)
        burst.append((sent, state, decision))
        state = after
    return burst


async def test_the_judgements_wait_for_the_next_turn_of_the_loop() -> None:
    """What the gate queues is judged after the caller's turn (the gateway's burst,
    replies sent at its end), in order, on the states the real engine judged on."""
    rows: list[ShadowDecisionDiffered] = []
    deferred = DeferredShadow(Shadow(limits(max_open_orders=2)), rows.append)
    burst = a_burst(4)
    for sent, state, decision in burst:
        deferred.queue(sent, state, decision, NOW)
    assert (deferred.pending, rows) == (4, [])
    assert deferred.shadow.counted(snapshot(burst[0][1], limits(), NOW)).shadow == ShadowCounts()
    await asyncio.sleep(0)  # one turn: the callback scheduled with the first order ran
    assert deferred.pending == 0
    assert [(r.request_id, r.verdict, r.shadow_code) for r in rows] == [
        (sent.request_id, "ALLOW", "open_orders_limit") for sent, _, _ in burst[2:]]
    at_once = Shadow(limits(max_open_orders=2))
    assert rows == [row for sent, state, decision in burst
                    if (row := at_once.judge(sent, state, decision, NOW)) is not None]


async def test_flush_judges_what_is_queued_at_once_and_the_callback_then_finds_nothing() -> None:
    """On stop and before a snapshot the actor flushes: every decided order counted."""
    rows: list[ShadowDecisionDiffered] = []
    deferred = DeferredShadow(Shadow(limits(max_open_orders=1)), rows.append)
    burst = a_burst(3)
    for sent, state, decision in burst:
        deferred.queue(sent, state, decision, NOW)
    deferred.flush()
    assert deferred.pending == 0 and len(rows) == 2
    counts = deferred.shadow.counted(snapshot(burst[0][1], limits(), NOW)).shadow
    assert counts == ShadowCounts(orders=3, allow_to_deny=2)
    await asyncio.sleep(0)
    assert len(rows) == 2
    sent, state, decision = a_burst(1)[0]  # a later order schedules its own turn
    deferred.queue(sent, state, decision, NOW)
    assert deferred.pending == 1
    await asyncio.sleep(0)
    assert deferred.pending == 0


def test_without_a_running_loop_the_order_is_judged_at_once() -> None:
    rows: list[ShadowDecisionDiffered] = []
    deferred = DeferredShadow(Shadow(limits(max_order_notional=100.0)), rows.append)
    sent, state, decision = a_burst(1)[0]
    deferred.queue(sent, state, decision, NOW)
    assert deferred.pending == 0 and [r.shadow_code for r in rows] == ["fat_finger_notional"]


class FailingShadow(Shadow):
    """Raises on the order named ``boom``, as a shadow with a bug would."""

    def judge(self, order: OrderRequest, state: RiskState, real: Decision,
              now: float) -> ShadowDecisionDiffered | None:
        if order.request_id == "boom":
            raise ValueError("a bug in the shadow")
        return super().judge(order, state, real, now)


async def test_a_failing_judge_or_journal_costs_its_own_order_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each failure is logged and skipped; the orders after it are still judged."""
    rows: list[ShadowDecisionDiffered] = []

    def record(row: ShadowDecisionDiffered) -> None:
        if row.request_id == "refused":
            raise RuntimeError("the journal is closed")
        rows.append(row)

    deferred = DeferredShadow(FailingShadow(limits(max_order_notional=100.0)), record)
    real = limits()
    state = ready(real)
    for request_id in ("boom", "refused", "kept"):
        sent = order("ETHUSDT", qty=0.1, price=2_500.0, request_id=request_id)
        deferred.queue(sent, state, decide(sent, state, real, NOW)[0], NOW)
    with caplog.at_level(logging.ERROR, logger="agents.risk"):
        await asyncio.sleep(0)
    assert [r.request_id for r in rows] == ["kept"]
    assert [r.getMessage() for r in caplog.records] == [
        "shadow limits failed on boom", "shadow limits failed on refused"]


def differed(request_id: str, verdict: str, code: str, shadow_verdict: str,
             shadow_code: str) -> ShadowDecisionDiffered:
    return ShadowDecisionDiffered(request_id=request_id, bot_id="qe", symbol="ETHUSDT",
                                  side="buy", qty=0.1, price=2_500.0, verdict=verdict, code=code,
                                  shadow_verdict=shadow_verdict, shadow_code=shadow_code,
                                  shadow_reason="because", ts=NOW)


def test_the_row_comes_with_the_severity_the_journal_would_give_it() -> None:
    """Worked out after the reply, so the next order's commit does not decode it."""
    entry = journal_entry(differed("a", "ALLOW", "allowed", "DENY", "fat_finger_notional"),
                          "risk")
    assert entry.kind == "shadow_decision" and entry.severity
    assert entry.severity == severity_of(entry.kind, entry.payload)


def test_the_report_has_a_shadow_limits_section() -> None:
    day = a_day_of_trading()
    assert day.audit().shadow is None
    assert "None in force (no config/risk.shadow.yaml)." in render(day.audit())
    state = ready(limits())
    with_shadow = msgspec.structs.replace(snapshot(state, limits(), NOW), shadow=ShadowCounts())
    day.add(with_shadow)
    assert "every order got the same answer" in render(day.audit())
    day.add(differed("a", "ALLOW", "allowed", "DENY", "fat_finger_notional"))
    day.add(differed("b", "DENY", "rate_limit", "ALLOW", "allowed"))
    day.add(differed("c", "DENY", "rate_limit", "DENY", "halted"))
    stats = day.audit().shadow
    assert stats is not None and (stats.differed, stats.allow_to_deny, stats.deny_to_allow,
                                  stats.other_code) == (3, {"fat_finger_notional": 1},
                                                        {"rate_limit": 1}, 1)
    text = render(day.audit())
    assert "## Shadow limits" in text and "| ALLOW -> DENY fat_finger_notional | 1 |" in text
    assert shadow_stats([Event(1, NOW, "risk", with_shadow)]) is not None


def test_kernel_status_prints_the_shadow_counts() -> None:
    state = ready(limits())
    snap = msgspec.structs.replace(snapshot(state, limits(), NOW),
                                   shadow=ShadowCounts(orders=1_234, allow_to_deny=5))
    status = StatusReply(
        version="0.1.0", pid=1, uptime_s=5.0, mode="paper", trading_state="ACTIVE", gate="risk",
        endpoints={}, actors=[], bots=[], journal_path="/data/journal.sqlite3",
        journal_last_seq=9, decisions=0, anomalies={})
    out = io.StringIO()
    print_snapshot(SnapshotReply(status=status, latest={
        "risk.state": msgspec.msgpack.encode(snap)}), Console(file=out, width=300))
    assert ("shadow limits (risk.shadow.yaml, never deciding): 1,234 orders judged, "
            "ALLOW->DENY 5, DENY->ALLOW 0, other DENY code 0") in out.getvalue()
