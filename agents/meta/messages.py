"""Events of the Meta-Agent jobs and of the proposals they lead to.

Topics: ``meta.job`` for each run of a job (started, finished, with the task and
report paths, the exit status and every problem met), ``meta.proposal`` for a
candidate change from its creation to a person's decision. The scheduler
rebuilds its history from ``meta.job`` rows after a restart, so a job that
failed is retried once, not forever, whatever happens to the kernel between.

Job names and proposal kinds are plain strings on the wire (not the config's
Literal), so a journal written by a newer kernel with more jobs still decodes.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from bus.protocol import Message, Text, Timestamp

Name = Annotated[str, msgspec.Meta(max_length=64)]
Outcome: TypeAlias = Literal[
    "ok", "timeout", "exit_nonzero", "no_report", "bad_report", "start_failed", "task_failed",
]
"""How a run ended. Everything but ``ok`` is a failure, journaled with its reason and an
anomaly, and retried once in a later off-market window when it was scheduled."""
AgentKind: TypeAlias = Literal["external", "builtin-llm", "builtin-offline", "none"]
"""Who answered: the configured command, or the built-in Meta-Agent with or without the
LLM; ``none`` when the task could not even be written."""
Trigger: TypeAlias = Literal["schedule", "manual"]
Decision: TypeAlias = Literal["approved", "rejected"]


class MetaJobStarted(Message, frozen=True, tag="meta_job_started"):
    """A task was written to the inbox and handed to the Meta-Agent."""

    topic: ClassVar[str] = "meta.job"
    job: Name
    task_id: Name
    task_path: Text
    trigger: Trigger
    key: Name
    """The period the run is for: ``2026-11-22`` (daily) or ``2026-W47`` (weekly)."""
    attempt: int
    agent: Literal["external", "builtin"]
    ts: Timestamp
    window_start: float = 0.0
    """When the off-market window this run belongs to began (0: a manual run)."""


class MetaJobFinished(Message, frozen=True, tag="meta_job_finished"):
    """How a run ended, where the report is, and what came of it."""

    topic: ClassVar[str] = "meta.job"
    job: Name
    task_id: Name
    trigger: Trigger
    key: Name
    attempt: int
    outcome: Outcome
    agent: AgentKind
    ts: Timestamp
    detail: Text = ""
    """The reason in words when it failed; a one-line result when it did not."""
    task_path: Text = ""
    report_path: Text = ""
    report_bytes: int = 0
    """Size of the report as found (it may have been read only in part)."""
    truncated: bool = False
    exit_code: int | None = None
    duration_s: float = 0.0
    notes: Annotated[list[Text], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list)
    """Every problem handled on the way: a report read in part, a refused name, a bad
    proposal left out, output cut short."""
    stderr_tail: Text = ""
    proposals: Annotated[list[int], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list)
    will_retry: bool = False
    window_start: float = 0.0


class ProposalCreated(Message, frozen=True, tag="proposal_created"):
    """A report proposed a change; it waits as ``pending`` for a person."""

    topic: ClassVar[str] = "meta.proposal"
    proposal_id: int
    kind: Name
    title: Text
    job: Name
    task_id: Name
    source: Name
    """Who answered the task (see :data:`AgentKind`)."""
    ts: Timestamp


class ProposalDecided(Message, frozen=True, tag="proposal_decided"):
    """A person approved or rejected a proposal; ``artefacts`` are the files written."""

    topic: ClassVar[str] = "meta.proposal"
    proposal_id: int
    decision: Decision
    by: Name
    reason: Text
    ts: Timestamp
    artefacts: Annotated[list[Text], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list)


class ProposalRefused(Message, frozen=True, tag="proposal_refused"):
    """A decision could not be carried out (not pending, or the change does not validate)."""

    topic: ClassVar[str] = "meta.proposal"
    proposal_id: int
    action: Literal["approve", "reject"]
    by: Name
    reason: Text
    ts: Timestamp


MetaEvent: TypeAlias = (
    MetaJobStarted | MetaJobFinished | ProposalCreated | ProposalDecided | ProposalRefused
)
"""Every event of this domain; the kernel composes it into the bus union."""
