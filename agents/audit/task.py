"""Meta-Agent tasks from the audit: a self-contained Markdown file, pure text.

The Meta-Agent (a person or a language model) gets one file and nothing else:
front matter it can parse (task id, kind, created, deadline, where to answer),
the question, the day's audit in full, a compact table of the journal rows that
matter, and the exact shape of the answer expected, so the answer can be
checked by a program before a person reads it. Everything in the file is
evidence from the journal; the seq numbers let the answer cite rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, Literal, NamedTuple, TypeAlias

from agents.audit.markdown import clock, render, table
from agents.audit.messages import DailyAuditCompleted

TaskKind: TypeAlias = Literal["daily-logs", "risk-report"]
TASK_KINDS: Final[tuple[TaskKind, ...]] = ("daily-logs", "risk-report")

EXCERPT_TOPICS: Final[dict[TaskKind, tuple[str, ...]]] = {
    "daily-logs": ("bot.lifecycle", "bot.exit", "kernel.", "risk.halt", "risk.limit",
                   "anomaly", "operator.", "audit."),
    "risk-report": ("risk.limit", "risk.halt", "risk.operator", "risk.multiplier",
                    "operator.", "anomaly.risk"),
}
"""Topic prefixes quoted besides every row of severity warning or worse."""

_QUESTIONS: Final[dict[TaskKind, str]] = {
    "daily-logs": (
        "Analyse the supervisor's logs for {day}. What happened, in order of importance? "
        "What went wrong or looked unusual (anomalies, denials, halts, restarts), what "
        "probably caused each, and is any of it likely to happen again? Base every "
        "statement on the audit and the journal rows below, citing rows by seq."),
    "risk-report": (
        "Report on the risk engine for {day}. Did the limits fire when they should have, "
        "and only then? Were the denials right (look at the reason codes and how often "
        "the bot asked again after a denial)? Were any halts too late, too early or "
        "missing? Are the limits in force sensible for the day's equity and trading? "
        "Cite journal rows by seq."),
}

_ANSWER: Final = """\
Write your answer to `{answer}` as Markdown with this front matter and these sections,
in this order, and nothing else:

```
---
task_id: {task_id}
verdict: ok | concerns | action_needed
---
## Summary
At most five sentences.

## Findings
| Severity | Rows (seq) | Finding |
|---|---|---|
| info / warning / error | 1204, 1210 | one sentence each |

## Recommendations
1. One change per item, naming the config key or component it concerns, and why.

## Questions for the operator
- What the rows cannot tell you.
```

Rules: do not propose changing API keys, credentials or anything under `keys/`;
recommendations are proposals for a person to approve, never instructions to run.
"""


class ExcerptRow(NamedTuple):
    seq: int
    ts: float
    severity: str
    topic: str
    source: str
    summary: str


class TaskHeader(NamedTuple):
    task_id: str
    kind: TaskKind
    created: float
    deadline: float
    answer: str
    """Where the answer is expected (the Meta-Agent's outbox)."""


def task_id(kind: str, label: str, created: float, unique: str) -> str:
    """``<kind>-<day or period>-<UTC second>-<unique>``: ``unique`` (a few random hex
    digits from the caller) tells apart two tasks made in the same second, which
    would otherwise share the task file in the inbox and the report in the outbox."""
    stamp = datetime.fromtimestamp(created, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{kind}-{label}-{stamp}-{unique}"


def render_task(header: TaskHeader, audit: DailyAuditCompleted,
                excerpt: Sequence[ExcerptRow], *, excerpt_limit: int) -> str:
    """The whole task file."""
    zone = audit.timezone
    fields = {"task_id": header.task_id, "kind": header.kind, "created": iso(header.created),
              "deadline": iso(header.deadline), "day": audit.day, "timezone": zone,
              "answer_to": header.answer}
    front = front_matter(fields)
    title = "Analyse the day's logs" if header.kind == "daily-logs" else "Report on the risk engine"
    body = [f"# Task: {title} ({audit.day})", "", "## The question", "",
            _QUESTIONS[header.kind].format(day=audit.day), "",
            "## The day's audit", "",
            "The audit below was computed from the journal; its headings are one level "
            "deeper than in the daily report.", ""]
    body += ["#" + line if line.startswith("#") else line
             for line in render(audit).splitlines()]
    body += ["", "## Journal excerpt", ""]
    if excerpt:
        note = (f"The {len(excerpt)} most relevant rows of the day (every row of severity "
                "warning or worse, and the topics this task is about), oldest first; times "
                f"in {zone}.")
        if len(excerpt) >= excerpt_limit:
            note += f" Limited to the latest {excerpt_limit}; earlier ones were left out."
        rows = ((r.seq, clock(r.ts, zone), r.severity, r.topic, r.source, r.summary[:160])
                for r in excerpt)
        body += [note, "", *table(("Seq", "Time", "Severity", "Topic", "Source", "What"), rows,
                                  right=(0,))]
    else:
        body.append("No row of the day is of severity warning or worse, or on the topics "
                    "this task is about.")
    body += ["", "## Expected answer", "", _ANSWER.format(answer=header.answer,
                                                         task_id=header.task_id)]
    return "\n".join(front + body).rstrip() + "\n"


def front_matter(fields: Mapping[str, str]) -> list[str]:
    """The front matter lines of a task file (shared with the Meta-Agent jobs' tasks).

    Values are quoted (JSON strings are YAML strings): a YAML reader must not turn
    them into dates.
    """
    return ["---", *(f"{key}: {json.dumps(value)}" for key, value in fields.items()), "---", ""]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
