"""The tap's one-liners for the Meta-Agent's and the proposals' events."""

from __future__ import annotations

import msgspec

from agents.meta.messages import MetaJobFinished, MetaJobStarted, ProposalCreated, ProposalRefused
from kernel.messages import decode_message
from kernel.summaries import severity, summarize


def body(message: object) -> dict[str, object]:
    decoded: dict[str, object] = msgspec.msgpack.decode(msgspec.msgpack.encode(message))
    return decoded


def test_each_event_travels_the_bus_and_reads_as_one_line() -> None:
    started = MetaJobStarted(job="code-audit", task_id="t", task_path="/in/t.md",
                             trigger="schedule", key="2026-W47", attempt=1, agent="external",
                             ts=1.0)
    assert decode_message(msgspec.msgpack.encode(started)) == started
    assert summarize(body(started)) == ("code-audit (schedule, 2026-W47, attempt 1) started: "
                                        "external Meta-Agent on /in/t.md")
    failed = MetaJobFinished(job="code-audit", task_id="t", trigger="schedule", key="k",
                             attempt=1, outcome="timeout", agent="external", ts=2.0,
                             detail="killed after 900 s", will_retry=True)
    assert summarize(body(failed)) == ("code-audit timeout (external): killed after 900 s; "
                                       "retried in the next off-market window")
    created = ProposalCreated(proposal_id=3, kind="risk_rule", title="Lower leverage",
                              job="risk-report", task_id="t", source="external", ts=3.0)
    assert summarize(body(created)) == ('proposal 3 (risk_rule) pending: "Lower leverage" '
                                        "[from risk-report, external]")
    refused = ProposalRefused(proposal_id=3, action="approve", by="ana", reason="already",
                              ts=4.0)
    assert severity(body(refused)) == "warning"
