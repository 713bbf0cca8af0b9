"""The built-in Meta-Agent's offline rules: deterministic answers from the task's evidence.

Used without an LLM, so every job still ends in a report. The rules restate
what the audits and files show (limits that fired, denials by reason, halts,
anomalies, large or recently changed files, stale models) in the report's
structure, with a verdict by fixed thresholds. They propose only what a rule
can justify: a retrain of a model older than ``max_model_age_days`` when newer
data exists. Strategies, features and risk rules need judgement; offline they
are left to a person, and the report says so.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from agents.audit.markdown import money
from agents.audit.messages import DailyAuditCompleted
from agents.meta._code_snapshot import CodeSnapshot
from agents.meta.config import MetaConfig
from agents.meta.jobs import Task
from agents.meta.report import Finding, MetaAnswer, ProposalDraft, Verdict

LARGE_FILE: Final = 60_000
"""Bytes beyond which a source file is worth splitting (reported as info)."""
Level = Literal["info", "warning", "error"]
_RISKY: Final[tuple[tuple[re.Pattern[str], Level, str], ...]] = (
    (re.compile(r"^\s*except\s*:", re.M), "warning", "a bare `except:` hides every error"),
    (re.compile(r"except\s+Exception\s*:\s*\n\s*pass\b"), "warning",
     "`except Exception: pass` swallows errors silently"),
    (re.compile(r"(?i)(api[_-]?key|secret|password)\s*[:=]\s*['\"][^'\"]{8,}['\"]"), "error",
     "what looks like a credential written in the file"),
    (re.compile(r"\b(TODO|FIXME|XXX)\b"), "info", "TODO / FIXME markers"),
)


def offline_answer(task: Task, config: MetaConfig, now: float) -> MetaAnswer:
    evidence = task.evidence
    if task.job in ("daily-logs", "risk-report") and evidence.audits:
        return _day(evidence.audits[0], risk_focus=task.job == "risk-report")
    if task.job == "code-audit" and evidence.code is not None:
        return _code(evidence.code)
    if task.job == "retrain":
        return _retrain(task, config, now)
    return _figures(evidence.audits)


def _day(audit: DailyAuditCompleted, *, risk_focus: bool) -> MetaAnswer:
    findings: list[Finding] = []
    for moment in audit.limits_fired:
        findings.append(Finding(severity="error", where=moment.what,
                                text=f"limit fired: {moment.detail or moment.what}"[:1500]))
    for moment in audit.halts:
        findings.append(Finding(severity="warning", where=moment.what,
                                text=f"trading state changed: {moment.detail}"[:1500]))
    for code, count in sorted(audit.orders.denied_by_code.items(), key=lambda kv: -kv[1]):
        findings.append(Finding(severity="warning", where=code,
                                text=f"{count} orders denied with {code}"))
    bots = audit.bots
    for what, count in (("hangs", bots.hangs), ("crashes", bots.crashes),
                        ("restarts", bots.restarts), ("give-ups", bots.gave_up)):
        if count:
            findings.append(Finding(severity="error" if what in ("hangs", "give-ups")
                                    else "warning", where="bot", text=f"{count} bot {what}"))
    if not risk_focus:
        for anomaly in audit.anomalies:
            severity: Level = "error" if anomaly.worst in ("error", "critical") else "warning"
            findings.append(Finding(severity=severity, where=anomaly.kind,
                                    text=f"{anomaly.count} anomalies {anomaly.kind} "
                                         f"(worst {anomaly.worst})"))
    verdict = _verdict(findings)
    rate = audit.trades.win_rate_pct
    summary = (f"Offline rules over the audit of {audit.day}: {audit.trades.trades} trades, "
               f"win rate {'n/a' if rate is None else f'{rate} %'}, realised PnL "
               f"{money(audit.pnl.realized_pnl)} USDT, {audit.orders.denied} of "
               f"{audit.orders.requested} orders denied, {len(audit.limits_fired)} limits fired, "
               f"{len(audit.halts)} trading state changes."
               + ("" if audit.traded else " The bot did not trade that day."))
    recommendations = []
    if audit.orders.denied_by_code:
        top = max(audit.orders.denied_by_code.items(), key=lambda kv: kv[1])[0]
        recommendations.append(f"Find out why the bot keeps asking for orders the gate "
                               f"refuses with {top}: its sizing or its view of the limits "
                               "differs from the supervisor's.")
    if audit.limits_fired:
        recommendations.append("Read the risk report of this day before the next session: "
                               "a limit fired.")
    questions = ["Were the halts and denials expected for that day's market?"] \
        if verdict != "ok" else []
    return MetaAnswer(verdict=verdict, summary=summary, findings=findings[:40],
                      recommendations=recommendations, questions=questions)


def _code(code: CodeSnapshot) -> MetaAnswer:
    findings: list[Finding] = []
    for excerpt in code.excerpts:
        for pattern, severity, what in _RISKY:
            hits = len(pattern.findall(excerpt.text))
            if hits:
                findings.append(Finding(severity=severity, where=excerpt.path,
                                        text=f"{hits} x {what} (in the quoted part)"))
    for repo_file in code.files:
        if repo_file.size > LARGE_FILE and repo_file.path.endswith(".py"):
            findings.append(Finding(severity="info", where=repo_file.path,
                                    text=f"{repo_file.size:,} bytes: a module this large is "
                                         "hard to review"))
    if code.notes:
        findings += [Finding(severity="info", where="snapshot", text=n[:1500])
                     for n in code.notes]
    summary = (f"Offline rules over {code.total_files:,} files ({code.total_bytes:,} bytes) of "
               f"{code.root}; {len(code.recent)} recently changed, {len(code.excerpts)} "
               "quoted. Only patterns were looked for; the code was not read for meaning.")
    return MetaAnswer(verdict=_verdict(findings), summary=summary, findings=findings[:40],
                      recommendations=["Have a person (or the LLM-backed Meta-Agent) review "
                                       "the recently changed files."] if code.recent else [])


def _retrain(task: Task, config: MetaConfig, now: float) -> MetaAnswer:
    evidence, max_age = task.evidence, config.retrain.max_model_age_days
    drafts: list[ProposalDraft] = []
    findings: list[Finding] = []
    for model in evidence.models:
        age = (now - model.mtime) / 86_400
        fresher = evidence.newest_data is not None and evidence.newest_data > model.mtime
        if age > max_age and fresher:
            drafts.append(ProposalDraft(
                kind="retrain", title=f"Retrain {model.path}"[:200], target=model.path,
                rationale=f"The model is {age:.1f} days old (limit {max_age:g}) and data "
                          "newer than it exists.",
                details="Offline rule: retrain on the data that arrived since the model was "
                        "written, compare it on paper with the current model, then replace."))
            findings.append(Finding(severity="warning", where=model.path,
                                    text=f"{age:.1f} days old, newer data exists"))
    summary = (f"Offline rules: {len(evidence.models)} model files, {len(drafts)} older than "
               f"{max_age:g} days with newer data.")
    if not evidence.models:
        summary += " No model file matched retrain.models in meta.yaml."
    return MetaAnswer(verdict="concerns" if drafts else "ok", summary=summary,
                      findings=findings, proposals=drafts[:10])


def _figures(audits: tuple[DailyAuditCompleted, ...]) -> MetaAnswer:
    losing = [a.day for a in audits if a.pnl.realized_pnl < 0]
    halted = [a.day for a in audits if a.limits_fired]
    findings = [Finding(severity="warning", where=day, text="a losing day") for day in losing]
    findings += [Finding(severity="warning", where=day, text="a limit fired") for day in halted]
    summary = (f"Offline rules over {len(audits)} audited days: {len(losing)} losing, "
               f"{len(halted)} with a limit fired. New features and strategies need judgement: "
               "none is proposed offline.")
    return MetaAnswer(verdict=_verdict(findings), summary=summary, findings=findings[:40])


def _verdict(findings: list[Finding]) -> Verdict:
    severities = {f.severity for f in findings}
    if "error" in severities:
        return "action_needed"
    return "concerns" if "warning" in severities else "ok"
