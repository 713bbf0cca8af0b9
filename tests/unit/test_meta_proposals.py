"""The proposal store and a person's decisions: journaled first, final, never applied."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from agents.meta.messages import ProposalDecided, ProposalRefused
from agents.meta.proposal_review import approve, reject
from agents.meta.proposals import ProposalError, ProposalStore
from agents.meta.report import ProposalDraft
from bus.protocol import Message
from kernel.config import load_yaml
from risk.limits import RiskLimits

SHIPPED_RISK = Path(__file__).resolve().parents[2] / "config" / "risk.yaml"
LEVERAGE = ProposalDraft(kind="risk_rule", title="Lower leverage", rationale="halts",
                         changes={"max_leverage": 1.5})


class Journal:
    def __init__(self, failure: str = "") -> None:
        self.rows: list[Message] = []
        self.failure = failure

    def __call__(self, message: Message) -> str:
        if not self.failure:
            self.rows.append(message)
        return self.failure


@pytest.fixture
def store(tmp_path: Path) -> ProposalStore:
    return ProposalStore(tmp_path / "data" / "proposals.sqlite3")


@pytest.fixture
def risk(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "risk.yaml"
    path.parent.mkdir()
    shutil.copy(SHIPPED_RISK, path)
    return path


def test_added_proposals_are_pending_and_listed_by_status(store: ProposalStore) -> None:
    first = store.add(LEVERAGE, job="risk-report", task_id="t1", source="external", now=10.0)
    second = store.add(ProposalDraft(kind="feature", title="F"), job="feature-proposals",
                       task_id="t2", source="builtin-llm", now=11.0)
    assert (first.id, second.id) == (1, 2)
    assert store.get(1) == first
    assert [p.id for p in store.all("pending")] == [1, 2]
    assert store.all("approved") == []
    assert [h.status for h in store.history(1)] == ["pending"]


def test_approving_a_risk_rule_writes_the_proposed_file_and_its_diff_only(
        store: ProposalStore, risk: Path) -> None:
    before = risk.read_text()
    store.add(LEVERAGE, job="risk-report", task_id="t1", source="external", now=10.0)
    journal = Journal()
    reviewed = approve(store, 1, risk_path=risk, by="ana", reason="agreed", now=20.0,
                       journal=journal)
    proposed, diff = reviewed.artefacts
    assert proposed == risk.with_name("risk.yaml.proposed")
    assert diff == risk.with_name("risk.yaml.proposed.diff")
    assert risk.read_text() == before  # the live limits are never edited
    assert load_yaml(proposed, RiskLimits).max_leverage == 1.5
    assert "-max_leverage: 2\n+max_leverage: 1.5" in diff.read_text()
    assert "Approved by ana: agreed" in diff.read_text()
    assert reviewed.proposal.status == "approved"
    assert reviewed.proposal.artefacts == [str(proposed), str(diff)]
    decided = journal.rows[0]
    assert isinstance(decided, ProposalDecided)
    assert (decided.decision, decided.by, decided.artefacts) == (
        "approved", "ana", [str(proposed), str(diff)])
    assert [h.status for h in store.history(1)] == ["pending", "approved"]


def test_a_decision_is_final_and_the_refusal_is_journaled(store: ProposalStore,
                                                          risk: Path) -> None:
    store.add(ProposalDraft(kind="strategy", title="S"), job="j", task_id="t", source="x",
              now=1.0)
    journal = Journal()
    reject(store, 1, by="ana", reason="no", now=2.0, journal=journal)
    with pytest.raises(ProposalError, match="already rejected"):
        approve(store, 1, risk_path=risk, by="bob", reason="yes", now=3.0, journal=journal)
    with pytest.raises(ProposalError, match="there is no proposal 9"):
        reject(store, 9, by="bob", reason="x", now=3.0, journal=journal)
    kinds = [type(m).__name__ for m in journal.rows]
    assert kinds == ["ProposalDecided", "ProposalRefused", "ProposalRefused"]
    assert not risk.with_name("risk.yaml.proposed").exists()


def test_sqlite_itself_refuses_to_decide_twice(store: ProposalStore) -> None:
    store.add(LEVERAGE, job="j", task_id="t", source="x", now=1.0)
    store.decide(1, "rejected", by="a", reason="r", now=2.0, artefacts=[])
    with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.IntegrityError,
                                                          match="never decided again"):
        db.execute("UPDATE proposal SET status = 'approved' WHERE id = 1")
    with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.IntegrityError,
                                                          match="append-only"):
        db.execute("DELETE FROM proposal_history")


def test_a_risk_change_that_no_longer_validates_is_refused_and_nothing_is_written(
        store: ProposalStore, risk: Path) -> None:
    store.add(ProposalDraft(kind="risk_rule", title="Too much",
                            changes={"max_leverage": 5000}), job="j", task_id="t",
              source="x", now=1.0)
    journal = Journal()
    with pytest.raises(ProposalError, match="cannot be proposed"):
        approve(store, 1, risk_path=risk, by="a", reason="r", now=2.0, journal=journal)
    assert isinstance(journal.rows[-1], ProposalRefused)
    assert store.get(1).status == "pending"
    assert not risk.with_name("risk.yaml.proposed").exists()


def test_a_decision_that_cannot_be_journaled_is_not_taken(store: ProposalStore,
                                                          risk: Path) -> None:
    store.add(LEVERAGE, job="j", task_id="t", source="x", now=1.0)
    with pytest.raises(ProposalError, match="could not be journaled"):
        approve(store, 1, risk_path=risk, by="a", reason="r", now=2.0,
                journal=Journal("bus silent"))
    assert store.get(1).status == "pending"
    assert not risk.with_name("risk.yaml.proposed").exists()
    assert not risk.with_name("risk.yaml.proposed.diff").exists()


def test_a_reason_is_required(store: ProposalStore) -> None:
    store.add(LEVERAGE, job="j", task_id="t", source="x", now=1.0)
    with pytest.raises(ProposalError, match="a reason is required"):
        reject(store, 1, by="a", reason="  ", now=2.0, journal=Journal())


def test_a_second_risk_change_never_overwrites_one_not_applied_yet(
        store: ProposalStore, risk: Path) -> None:
    store.add(LEVERAGE, job="j", task_id="t1", source="x", now=1.0)
    store.add(ProposalDraft(kind="risk_rule", title="Fewer orders",
                            changes={"max_open_orders": 10}), job="j", task_id="t2",
              source="x", now=1.0)
    journal = Journal()
    approve(store, 1, risk_path=risk, by="ana", reason="agreed", now=2.0, journal=journal)
    waiting = risk.with_name("risk.yaml.proposed").read_text()
    with pytest.raises(ProposalError, match=r"not applied \(Proposal 1 \(risk_rule\)"):
        approve(store, 2, risk_path=risk, by="ana", reason="also", now=3.0, journal=journal)
    assert risk.with_name("risk.yaml.proposed").read_text() == waiting
    assert store.get(2).status == "pending"
    assert isinstance(journal.rows[-1], ProposalRefused)
    shutil.copy(risk.with_name("risk.yaml.proposed"), risk)  # a person applies the first
    approve(store, 2, risk_path=risk, by="ana", reason="also", now=4.0, journal=journal)
    assert load_yaml(risk.with_name("risk.yaml.proposed"), RiskLimits).max_open_orders == 10
