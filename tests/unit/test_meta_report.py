"""Reading a report a program we do not control wrote: every problem is a note."""

from __future__ import annotations

import textwrap

from agents.meta.builtin import render_report
from agents.meta.report import MetaAnswer, ProposalDraft, parse_report

TASK = "code-audit-2026-W47-20261122T010000Z"


def report(front: str, body: str = "## Summary\n\nFine.\n") -> str:
    return f"---\n{textwrap.dedent(front)}---\n{body}"


def test_a_well_formed_report_gives_its_verdict_and_proposals() -> None:
    parsed = parse_report(report(f"""\
        task_id: {TASK}
        verdict: concerns
        proposals:
          - kind: risk_rule
            title: Lower leverage
            rationale: two halts
            changes: {{max_leverage: 1.5, "risk_multiplier.max": 0.8}}
          - kind: retrain
            title: Retrain the entry model
            target: models/entry.pkl
        """), task_id=TASK, max_proposals=10)
    assert parsed.verdict == "concerns"
    assert parsed.notes == []
    assert [d.kind for d in parsed.drafts] == ["risk_rule", "retrain"]
    assert parsed.drafts[0].changes == {"max_leverage": 1.5, "risk_multiplier.max": 0.8}
    assert parsed.body.startswith("## Summary")


def test_no_front_matter_is_a_report_without_proposals() -> None:
    parsed = parse_report("Just some text\n---\nverdict: ok\n", task_id=TASK, max_proposals=5)
    assert parsed.verdict is None
    assert parsed.drafts == []
    assert "no front matter" in parsed.notes[0]


def test_broken_yaml_and_aliases_are_refused_with_a_note() -> None:
    broken = parse_report("---\nverdict: [ok\n---\n", task_id=TASK, max_proposals=5)
    assert "not valid YAML" in broken.notes[0]
    bomb = report("a: &x [1, 2]\nb: [*x, *x]\nverdict: ok\n")
    aliased = parse_report(bomb, task_id=TASK, max_proposals=5)
    assert aliased.verdict is None
    assert "aliases are not accepted" in aliased.notes[0]


def test_each_bad_proposal_is_left_out_with_its_reason() -> None:
    parsed = parse_report(report("""\
        task_id: other-task
        verdict: maybe
        proposals:
          - kind: rewrite_everything
            title: x
          - kind: risk_rule
            title: No changes
          - kind: risk_rule
            title: Bad key
            changes: {"../../keys": 1}
          - kind: feature
            title: Feature with changes
            changes: {max_leverage: 1}
          - kind: strategy
            title: A good one
        """), task_id=TASK, max_proposals=10)
    assert [d.title for d in parsed.drafts] == ["A good one"]
    notes = "\n".join(parsed.notes)
    assert "verdict 'maybe' is not one of ok, concerns, action_needed" in notes
    assert "names task 'other-task'" in notes
    assert "proposal 1 left out" in notes
    assert "needs `changes`" in notes
    assert "not a risk.yaml key: '../../keys'" in notes
    assert "only a risk_rule proposal may carry `changes`" in notes


def test_too_many_proposals_are_cut_with_a_note() -> None:
    items = "".join(f"  - {{kind: feature, title: f{n}}}\n" for n in range(5))
    parsed = parse_report(report(f"verdict: ok\nproposals:\n{items}"), task_id=TASK,
                          max_proposals=2)
    assert len(parsed.drafts) == 2
    assert "5 proposals: only the first 2 were read" in parsed.notes[0]


def test_the_builtin_rendering_reads_back_the_same() -> None:
    answer = MetaAnswer(verdict="action_needed", summary="s", proposals=[
        ProposalDraft(kind="risk_rule", title="t: with a colon", changes={"max_leverage": 1.5})])
    text = render_report(TASK, answer, source="builtin-offline", detail="no key")
    parsed = parse_report(text, task_id=TASK, max_proposals=10)
    assert parsed.notes == []
    assert parsed.verdict == "action_needed"
    assert parsed.drafts == answer.proposals
    assert parsed.front["source"] == "builtin-offline"
