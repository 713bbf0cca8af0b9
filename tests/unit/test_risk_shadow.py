"""Shadow limits, pure parts: the judge and its counts, the audit's "shadow limits"
section, and the line ``kernel status`` prints."""

from __future__ import annotations

import io

import msgspec
from rich.console import Console

from agents.audit.figures import Event, shadow_stats
from agents.audit.markdown import render
from agents.risk.shadow import Shadow
from kernel.console.commands.status import print_snapshot
from kernel.control_protocol import SnapshotReply, StatusReply
from risk import decide, snapshot
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


def differed(request_id: str, verdict: str, code: str, shadow_verdict: str,
             shadow_code: str) -> ShadowDecisionDiffered:
    return ShadowDecisionDiffered(request_id=request_id, bot_id="qe", symbol="ETHUSDT",
                                  side="buy", qty=0.1, price=2_500.0, verdict=verdict, code=code,
                                  shadow_verdict=shadow_verdict, shadow_code=shadow_code,
                                  shadow_reason="because", ts=NOW)


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
