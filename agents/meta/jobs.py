"""The Meta-Agent's jobs: what each task asks, and the evidence it carries.

* ``daily-logs`` and ``risk-report`` (stage 3): the audit's own tasks
  (:func:`agents.audit.task.render_task`, the same as ``kernel meta task``) for
  the last complete trading day, plus how to propose a change.
* ``code-audit`` (stage 5): the bot's repository (``paths.yaml`` bot.cwd): every
  file with its size, recent changes (git when it is a work tree), excerpts
  within the byte budget of meta.yaml.
* ``feature-proposals``: the figures of the last days and the shape of the code,
  asking for new strategies or features as proposals.
* ``retrain``: the bot's model files, their age and the newest data, asking
  which models to retrain; a retrain only ever happens after a person approves.

Building a task reads (the journal read-only, the bot's files) but writes
nothing; :class:`Task` also carries the evidence as data, so the built-in
Meta-Agent's offline rules need not parse the text back.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Final, NamedTuple

import msgspec

from agents.audit.journal import build_audit, day_bounds, excerpt
from agents.audit.messages import DailyAuditCompleted
from agents.audit.task import (
    EXCERPT_TOPICS,
    ExcerptRow,
    TaskHeader,
    TaskKind,
    front_matter,
    iso,
    render_task,
)
from agents.audit.task import task_id as make_task_id
from agents.meta import _task_text as text
from agents.meta._code_snapshot import CodeSnapshot, snapshot
from agents.meta._task_text import ModelFile
from agents.meta.config import JobName
from agents.meta.schedule import period_key, previous_day
from agents.meta.slice import MetaSlice
from kernel.summaries import summarize

MAX_MODELS: Final = 200
MAX_DATA_FILES: Final = 100_000
"""Data files looked at for the newest one (a bound on a pathological folder)."""


class TaskUnavailable(Exception):
    """The task cannot be built (no journal yet, an unreadable file); the message says why."""


class Evidence(NamedTuple):
    """What a task was built from, as data."""

    day: str = ""
    audits: tuple[DailyAuditCompleted, ...] = ()
    code: CodeSnapshot | None = None
    models: tuple[ModelFile, ...] = ()
    newest_data: float | None = None


class Task(NamedTuple):
    task_id: str
    job: JobName
    created: float
    deadline: float
    path: Path
    """Where it goes: in the inbox."""
    answer: Path
    """Where the report is expected: in the outbox."""
    text: str
    evidence: Evidence


def build_task(job: JobName, config: MetaSlice, now: float, *, day: str | None = None) -> Task:
    """The task of ``job`` at ``now``; ``day`` picks the day of the log and risk jobs
    (default: the last complete one; other jobs ignore it). Raises :class:`TaskUnavailable`."""
    offset = config.utc_offset_s
    cfg = config.meta
    label = ((day or previous_day(now, offset)) if job in ("daily-logs", "risk-report")
             else period_key(cfg.cadence(job), now, offset))
    task_id = make_task_id(job, label, now, secrets.token_hex(3))
    inbox, outbox = config.inbox, config.outbox
    header = TaskHeader(task_id=task_id, kind="daily-logs", created=now,
                        deadline=now + cfg.timeout(job), answer=str(outbox / f"{task_id}.md"))
    try:
        body, evidence = _BUILDERS[job](header, job, label, config, now)
    except (sqlite3.Error, OSError) as exc:
        raise TaskUnavailable(f"the {job} task could not be built: {exc}") from exc
    return Task(task_id, job, now, header.deadline, inbox / f"{task_id}.md", outbox /
                f"{task_id}.md", body, evidence)


def _daily(header: TaskHeader, job: JobName, day: str, config: MetaSlice,
           now: float) -> tuple[str, Evidence]:
    audit = _audit(config, day, now)
    start, end = day_bounds(day, config.utc_offset_s)
    kind: TaskKind = "risk-report" if job == "risk-report" else "daily-logs"
    rows = excerpt(config.journal_path, start, end, topics=EXCERPT_TOPICS[kind],
                   limit=config.excerpt_rows)
    quoted = [ExcerptRow(r.seq, r.ts, r.severity, r.topic, r.source, _summary(r.payload))
              for r in rows]
    body = render_task(header._replace(kind=kind), audit, quoted,
                       excerpt_limit=config.excerpt_rows)
    return body.rstrip() + "\n\n" + text.PROPOSALS, Evidence(day=day, audits=(audit,))


def _code_audit(header: TaskHeader, job: JobName, label: str, config: MetaSlice,
                now: float) -> tuple[str, Evidence]:
    code = snapshot(config.bot_cwd, config.meta.code_audit, now)
    question = (
        "Audit the code of the trading bot below. Look for defects that can lose money or "
        "control (unhandled errors around orders, missing timeouts, state lost on restart, "
        "races, wrong units, secrets in files), risky recent changes, and code that makes "
        "the risk limits or the supervisor's commands easy to bypass. Cite files and lines "
        "as they appear in the excerpts; say when something is only a guess because a file "
        "was not quoted.")
    body = text.render(_front(header, job, label, bot_repo=code.root),
                       title=f"Audit the bot's code ({label})", question=question,
                       sections=text.code_sections(code, excerpts=True), answer=header.answer,
                       task_id=header.task_id)
    return body, Evidence(code=code)


def _features(header: TaskHeader, job: JobName, label: str, config: MetaSlice,
              now: float) -> tuple[str, Evidence]:
    audits = _recent_audits(config, now)
    code = snapshot(config.bot_cwd, config.meta.code_audit, now)
    question = (
        "From the figures of the last days and the shape of the bot's code, propose new "
        "features or strategies worth building, most valuable first. Ground each one in the "
        "figures (which losses or missed trades it addresses) and say how a person could "
        "test it on paper before it trades. Write each as a proposal of kind `strategy` or "
        "`feature`.")
    sections = ["## The last days", "", *text.figures(audits), "",
                *text.code_sections(code, excerpts=False)]
    body = text.render(_front(header, job, label), title=f"Propose features ({label})",
                       question=question, sections=sections, answer=header.answer,
                       task_id=header.task_id)
    return body, Evidence(audits=tuple(audits), code=code)


def _retrain(header: TaskHeader, job: JobName, label: str, config: MetaSlice,
             now: float) -> tuple[str, Evidence]:
    cfg = config.meta.retrain
    root = config.bot_cwd
    models = _matching(root, cfg.models)
    newest = max((f.mtime for f in _matching(root, cfg.data, limit=MAX_DATA_FILES)),
                 default=None)
    audits = _recent_audits(config, now)
    question = (
        "Which of the bot's models should be retrained on newer data, and on what window? "
        "Weigh the models' age, the data that arrived since, and whether the figures of "
        "the last days suggest the market moved away from what the models learned. Write "
        "each retrain as a proposal of kind `retrain` whose `target` is the model file and "
        "whose `details` give the data window and how to compare the new model with the "
        "old one. Nothing is retrained without a person's approval.")
    sections = [*text.model_sections(models, newest, now=now, max_age_days=cfg.max_model_age_days),
                "", "## The last days", "", *text.figures(audits)]
    body = text.render(_front(header, job, label, bot_repo=str(root)),
                       title=f"Retraining requests ({label})", question=question,
                       sections=sections, answer=header.answer, task_id=header.task_id)
    return body, Evidence(audits=tuple(audits), models=tuple(models), newest_data=newest)


Builder = Callable[[TaskHeader, JobName, str, MetaSlice, float], tuple[str, Evidence]]
_BUILDERS: Final[dict[JobName, Builder]] = {
    "daily-logs": _daily, "risk-report": _daily, "code-audit": _code_audit,
    "feature-proposals": _features, "retrain": _retrain}


def _front(header: TaskHeader, job: JobName, label: str, **extra: str) -> list[str]:
    return front_matter({"task_id": header.task_id, "kind": job, "created": iso(header.created),
                         "deadline": iso(header.deadline), "period": label, **extra,
                         "answer_to": header.answer})


def _audit(config: MetaSlice, day: str, now: float) -> DailyAuditCompleted:
    try:
        return build_audit(config.journal_path, day, zone=config.timezone,
                           utc_offset_s=config.utc_offset_s, now=now)
    except FileNotFoundError as exc:
        raise TaskUnavailable(f"no journal yet at {config.journal_path}: there is nothing "
                              "to analyse") from exc


def _recent_audits(config: MetaSlice, now: float) -> list[DailyAuditCompleted]:
    """The audits of the last ``lookback_days`` complete days (none without a journal)."""
    if not config.journal_path.exists():
        return []
    last = date.fromisoformat(previous_day(now, config.utc_offset_s))
    days = [(last - timedelta(days=n)).isoformat() for n in range(config.meta.lookback_days)]
    return [_audit(config, day, now) for day in reversed(days)]


def _matching(root: Path, patterns: list[str], *, limit: int = MAX_MODELS) -> list[ModelFile]:
    """Regular files under ``root`` matching the patterns (at most ``limit``); links and
    escapes left out."""
    found: dict[str, ModelFile] = {}
    if not root.is_dir():
        return []
    base = root.resolve()
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if len(found) >= limit:
                break
            if path.is_symlink() or not path.is_file() or base not in path.resolve().parents:
                continue
            info = path.stat()
            found[path.relative_to(root).as_posix()] = ModelFile(
                path.relative_to(root).as_posix(), info.st_size, info.st_mtime)
    return sorted(found.values(), key=lambda m: m.path)


def _summary(payload: bytes) -> str:
    try:
        return summarize(msgspec.msgpack.decode(payload))
    except msgspec.DecodeError:
        return f"({len(payload)} bytes that are not msgpack)"

