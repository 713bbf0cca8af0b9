"""One run of a Meta-Agent job, from the task file to the proposals, every step journaled.

Shared by the scheduler (``agents/meta/actor.py``, in the kernel) and by
``kernel meta run`` (in its own process): both hand in a ``publish`` that puts
messages in the journal, so a run leaves the same record whoever started it.

Steps: build the task and write it to the inbox; journal ``MetaJobStarted``;
run the configured Meta-Agent, or the built-in one; read the report; turn its
proposals into ``pending`` proposals (a risk-rule change must already apply to
today's risk.yaml); journal ``MetaJobFinished`` with the outcome, the paths and
every note. A failure is one of the named outcomes with its reason, plus an
``anomaly`` so the auditor and the tap see it; nothing here raises for a
misbehaving Meta-Agent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from agents.audit.files import OutputUnwritable, write_text
from agents.meta._process import AgentRun, Limits, run_external
from agents.meta.builtin import answer_task
from agents.meta.config import JobName, MetaConfig
from agents.meta.jobs import Task, TaskUnavailable, build_task
from agents.meta.messages import (
    AgentKind,
    MetaJobFinished,
    MetaJobStarted,
    ProposalCreated,
    Trigger,
)
from agents.meta.proposals import Proposal, ProposalStore
from agents.meta.report import ProposalDraft, parse_report
from agents.meta.risk_patch import PatchRefused, patch_risk_yaml
from agents.meta.slice import MetaSlice
from agents.moderator.llm_client import LlmClient
from bus.protocol import Message
from kernel.events import AnomalyDetected

Publish = Callable[[Message], None]
SOURCE = "meta"


class RunRequest(NamedTuple):
    job: JobName
    trigger: Trigger
    key: str
    attempt: int = 1
    window: float = 0.0
    day: str | None = None
    """A daily job's day (default: the last complete one)."""


class JobResult(NamedTuple):
    finished: MetaJobFinished
    task: Task | None
    proposals: list[Proposal]


def proposal_store(data_dir: Path) -> ProposalStore:
    """The proposals of the Meta-Agent, kept in the data directory."""
    return ProposalStore(data_dir / "proposals.sqlite3")


async def run_job(request: RunRequest, *, config: MetaSlice, publish: Publish,
                  clock: Callable[[], float], client: LlmClient | None) -> JobResult:
    """Run one job to its end; the result is also in the journal."""
    cfg, command = config.meta, list(config.agent_command)
    will_retry = request.trigger == "schedule" and request.attempt < cfg.max_attempts
    started = time.monotonic()
    try:
        task = await asyncio.to_thread(build_task, request.job, config, clock(),
                                       day=request.day)
        await asyncio.to_thread(write_text, task.path, task.text, what="Meta-Agent task")
        task.answer.parent.mkdir(parents=True, exist_ok=True)  # the outbox is ours to provide
    except (TaskUnavailable, OutputUnwritable, OSError) as exc:
        failed = AgentRun("task_failed", str(exc))
        return _finish(request, None, failed, "none", [], publish, clock, will_retry, started)
    publish(MetaJobStarted(job=request.job, task_id=task.task_id, task_path=str(task.path),
                           trigger=request.trigger, key=request.key, attempt=request.attempt,
                           agent="external" if command else "builtin", ts=clock(),
                           window_start=request.window))
    agent: AgentKind = "external"
    if command:
        limits = Limits(cfg.timeout(request.job), cfg.report_max_bytes, cfg.capture_max_bytes)
        run = await run_external(command, cwd=config.agent_cwd,
                                 task_path=task.path, task_id=task.task_id,
                                 outbox=task.answer.parent, limits=limits)
    else:
        run, agent = await _builtin(task, cfg, client, clock)
    proposals: list[Proposal] = []
    if run.outcome == "ok":
        run, proposals = await _proposals(task, run, agent, config, publish, clock)
    return _finish(request, task, run, agent, proposals, publish, clock, will_retry, started)


async def _builtin(task: Task, cfg: MetaConfig, client: LlmClient | None,
                   clock: Callable[[], float]) -> tuple[AgentRun, AgentKind]:
    timeout = cfg.timeout(task.job)
    try:
        async with asyncio.timeout(timeout):
            report = await answer_task(task, client=client, config=cfg, now=clock())
    except TimeoutError:
        return AgentRun("timeout", f"the built-in Meta-Agent took longer than {timeout:g} s"), \
            "builtin-llm"
    try:
        await asyncio.to_thread(write_text, task.answer, report.text, what="Meta-Agent report")
    except OutputUnwritable as exc:
        return AgentRun("no_report", str(exc)), report.source
    size = len(report.text.encode())
    note = (f"offline rules: {report.detail}",) if report.source == "builtin-offline" else ()
    return AgentRun("ok", f"report of {size:,} bytes", report_path=task.answer,
                    report_text=report.text, report_bytes=size, notes=note), report.source


async def _proposals(task: Task, run: AgentRun, agent: AgentKind, config: MetaSlice,
                     publish: Publish, clock: Callable[[], float]
                     ) -> tuple[AgentRun, list[Proposal]]:
    parsed = parse_report(run.report_text, task_id=task.task_id,
                          max_proposals=config.meta.max_proposals)
    notes = [*run.notes, *parsed.notes]
    store, created = proposal_store(config.data_dir), []
    for draft in parsed.drafts:
        problem = _risk_problem(draft, config.risk_yaml)
        if problem:
            notes.append(f"proposal {draft.title[:60]!r} left out: {problem}")
            continue
        proposal = await asyncio.to_thread(store.add, draft, job=task.job,
                                           task_id=task.task_id, source=agent, now=clock())
        created.append(proposal)
        publish(ProposalCreated(proposal_id=proposal.id, kind=draft.kind,
                                title=draft.title[:4096], job=task.job, task_id=task.task_id,
                                source=agent, ts=clock()))
    verdict = parsed.verdict or "none"
    detail = f"{run.detail}, verdict {verdict}, {len(created)} proposals"
    return run._replace(detail=detail, notes=tuple(notes)), created


def _risk_problem(draft: ProposalDraft, risk_path: Path) -> str:
    """Why a risk-rule draft cannot apply to the live risk.yaml; empty when it can."""
    if draft.kind != "risk_rule":
        return ""
    try:
        patch_risk_yaml(risk_path.read_text(encoding="utf-8"), draft.changes, note="check")
    except PatchRefused as exc:
        return str(exc)
    except OSError as exc:
        return f"risk.yaml cannot be read: {exc}"
    return ""


def _finish(request: RunRequest, task: Task | None, run: AgentRun, agent: AgentKind,
            proposals: list[Proposal], publish: Publish, clock: Callable[[], float],
            will_retry: bool, started: float) -> JobResult:
    failed = run.outcome != "ok"
    finished = MetaJobFinished(
        job=request.job, task_id=task.task_id if task else "", trigger=request.trigger,
        key=request.key, attempt=request.attempt, outcome=run.outcome, agent=agent, ts=clock(),
        detail=run.detail[:4096], task_path=str(task.path) if task else "",
        report_path=str(run.report_path or ""), report_bytes=run.report_bytes,
        truncated=run.truncated, exit_code=run.exit_code,
        duration_s=round(run.duration_s or time.monotonic() - started, 3),
        notes=[note[:4096] for note in run.notes][:100], stderr_tail=run.stderr_tail[-4096:],
        proposals=[p.id for p in proposals], will_retry=failed and will_retry,
        window_start=request.window)
    publish(finished)
    if failed:
        then = ("; it is tried again in the next off-market window" if finished.will_retry
                else "; no retry is left for this period" if request.trigger == "schedule"
                else "")
        publish(AnomalyDetected(kind="meta_job_failed",
                                severity="warning" if finished.will_retry else "error",
                                ts=clock(), source=SOURCE,
                                detail=f"{request.job} ({finished.task_id or 'no task'}) "
                                       f"{run.outcome}: {run.detail}{then}"[:4096]))
    return JobResult(finished, task, proposals)
