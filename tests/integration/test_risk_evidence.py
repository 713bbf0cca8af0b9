"""A risk-rule proposal's evidence: the journal's last days replayed under the limits
the proposal would write, on a real journal file."""

from __future__ import annotations

from pathlib import Path

from agents.meta.proposals import Proposal
from agents.meta.report import ProposalDraft
from agents.meta.risk_evidence import evidence_lines, risk_evidence
from kernel.events import KernelStateChanged
from kernel.journal import Journal
from kernel.settings import load_settings
from risk import decide, initial_state, order_decision
from risk.heartbeat import apply_heartbeat
from tests.conftest import write_config
from tests.integration.test_replay_journal import D1, DAY, row
from tests.unit.risk.risk_world import heartbeat, order


def proposal(changes: dict[str, object], kind: str = "risk_rule") -> Proposal:
    draft = ProposalDraft(kind=kind, title="tighter fat finger", changes=changes)  # type: ignore[arg-type]
    return Proposal(id=1, created=D1, job="risk-report", task_id="t", source="test",
                    draft=draft, status="pending")


async def two_days(path: Path, config: Path, *, start: float = D1, qty: float = 0.1,
                   days: int = 2) -> None:
    """A start, then each day a beat and two orders of ``qty`` ETH at 2,500, all allowed."""
    limits = load_settings(config).risk
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = await Journal.open(path)
    state = initial_state(limits, start + 60)
    journal.append(row(start + 60, KernelStateChanged(state="starting", ts=start + 60)))
    try:
        for day in range(days):
            ts = start + day * DAY + 3600
            hb = heartbeat(marks={"ETHUSDT": 2_500.0}, tick_ts=ts, ts=ts)
            journal.append(row(ts, hb))
            state, _ = apply_heartbeat(state, hb, limits, ts)
            for n in range(2):
                asked = order("ETHUSDT", qty=qty, price=2_500.0, request_id=f"d{day}-{n}")
                decision, state = decide(asked, state, limits, ts + 1 + n)
                assert decision.allowed
                journal.append(row(ts + 1 + n, asked))
                journal.append(row(ts + 1 + n, order_decision(asked, decision,
                                                              state.trading_state,
                                                              ts + 1 + n)))
        await journal.flush()
    finally:
        await journal.close()


async def test_a_tighter_proposal_shows_the_orders_it_would_have_denied(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    journal = tmp_path / "data" / "journal.sqlite3"
    await two_days(journal, config)
    found = risk_evidence(proposal({"max_order_notional": 100}), risk_path=config / "risk.yaml",
                          journal_path=journal, days=5, now=D1 + DAY + 7200)
    assert found is not None and found.report is not None
    assert (found.first_day, found.last_day) == ("2024-04-28", "2024-05-02")
    assert found.report.counts.orders == 4
    assert found.report.counts.allow_to_deny == {"fat_finger_notional": 4}
    text = "\n".join(evidence_lines(found))
    assert "ALLOW->DENY 4" in text and "allowed -> DENY fat_finger_notional" in text
    one_day = risk_evidence(proposal({"max_order_notional": 100}),
                            risk_path=config / "risk.yaml", journal_path=journal, days=1,
                            now=D1 + DAY + 7200)
    assert one_day is not None and one_day.report is not None
    assert one_day.report.counts.orders == 2


async def test_evidence_says_why_when_there_is_none(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    journal = tmp_path / "data" / "journal.sqlite3"
    assert risk_evidence(proposal({}, kind="retrain"), risk_path=config / "risk.yaml",
                         journal_path=journal, days=5, now=D1) is None
    missing = risk_evidence(proposal({"max_order_notional": 100}),
                            risk_path=config / "risk.yaml", journal_path=journal, days=5, now=D1)
    assert missing is not None and missing.report is None and "no journal" in missing.unavailable
    bad = risk_evidence(proposal({"max_order_notional": -1}), risk_path=config / "risk.yaml",
                        journal_path=journal, days=5, now=D1)
    assert bad is not None and "cannot be built" in bad.unavailable
