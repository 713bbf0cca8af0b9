"""The built-in Meta-Agent's offline rules restate the evidence, with fixed verdicts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agents.audit.messages import (
    AnomalyCount,
    BotEvents,
    DailyAuditCompleted,
    Moment,
    OrderStats,
    PnlSummary,
)
from agents.meta._code_snapshot import CodeSnapshot, Excerpt, RepoFile
from agents.meta._offline import offline_answer
from agents.meta.config import MetaConfig
from agents.meta.jobs import Evidence, Task


def task(job: str, evidence: Evidence) -> Task:
    return Task("t", job, 0.0, 1.0, Path("in.md"), Path("out.md"), "text",  # type: ignore[arg-type]
                evidence)


def audit(**fields: object) -> DailyAuditCompleted:
    return DailyAuditCompleted(day="2026-11-21", timezone="UTC", ts=1.0, complete=True,
                               traded=True, rows=10, **fields)  # type: ignore[arg-type]


def test_a_quiet_day_is_ok() -> None:
    answer = offline_answer(task("daily-logs", Evidence(audits=(audit(),))), MetaConfig(), 0.0)
    assert answer.verdict == "ok"
    assert answer.findings == []
    assert "Offline rules over the audit of 2026-11-21" in answer.summary


def test_a_limit_that_fired_needs_action_and_denials_are_named() -> None:
    day = audit(limits_fired=(Moment(ts=1.0, what="daily_loss_limit", detail="300 of 300"),),
                orders=OrderStats(requested=9, denied=4, denied_by_code={"max_notional": 4}),
                pnl=PnlSummary(realized_pnl=Decimal("-300")),
                anomalies=(AnomalyCount(kind="stale_tick", count=2, worst="warning"),),
                bots=BotEvents(hangs=1))
    answer = offline_answer(task("daily-logs", Evidence(audits=(day,))), MetaConfig(), 0.0)
    assert answer.verdict == "action_needed"
    texts = [f.text for f in answer.findings]
    assert "limit fired: 300 of 300" in texts
    assert "4 orders denied with max_notional" in texts
    assert "1 bot hangs" in texts
    assert "2 anomalies stale_tick (worst warning)" in texts
    assert any("max_notional" in r for r in answer.recommendations)
    risk = offline_answer(task("risk-report", Evidence(audits=(day,))), MetaConfig(), 0.0)
    assert not any("stale_tick" in f.text for f in risk.findings)  # the risk view only


def test_code_patterns_are_found_in_the_quoted_part_only() -> None:
    code = CodeSnapshot("/bot", [RepoFile("big.py", 90_000, 0.0)], 1, 90_000, False, "", "",
                        [], [Excerpt("x.py", "try:\n    go()\nexcept:\n    pass\n"
                                     "API_KEY = 'abcdefghijkl'\n# TODO later\n", False)], [])
    answer = offline_answer(task("code-audit", Evidence(code=code)), MetaConfig(), 0.0)
    assert answer.verdict == "action_needed"  # a credential in a file
    found = {(f.severity, f.where) for f in answer.findings}
    assert {("warning", "x.py"), ("error", "x.py"), ("info", "x.py"),
            ("info", "big.py")} <= found
    assert answer.proposals == []
