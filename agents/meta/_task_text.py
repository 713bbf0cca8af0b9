"""The text of the Meta-Agent's tasks beyond the audit's two: pure, data in, Markdown out.

Same shape as the audit's tasks (``agents/audit/task.py``, whose front matter
format is reused): front matter a program can parse, the question, the evidence,
then the exact answer expected. Every task may propose changes; how to write
them is :data:`PROPOSALS`, appended to the audit's tasks too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Final, NamedTuple

from agents.audit.markdown import money, table
from agents.audit.messages import DailyAuditCompleted
from agents.meta._code_snapshot import CodeSnapshot

PROPOSALS: Final = """\
## Proposals (optional)

A change you recommend may also be proposed for a person's approval: add a
`proposals:` list to the front matter. Nothing is applied without approval.

```
proposals:
  - kind: risk_rule          # risk_rule | strategy | feature | retrain
    title: Lower the leverage cap to 1.5
    rationale: Two drawdown halts this week came with leverage above 1.8.
    changes: {max_leverage: 1.5, "risk_multiplier.max": 0.8}   # risk_rule only
  - kind: retrain
    title: Retrain the entry model on the last 30 days
    target: models/entry.pkl   # the model file, the module, the strategy
    details: The window, the data, how to compare the new model with the old.
```

`changes` names `config/risk.yaml` keys (dotted for nested ones) and their new
values; approval writes `risk.yaml.proposed` and a diff for a person to apply.
Never propose changes to API keys, credentials or anything under `keys/`.
"""

ANSWER: Final = """\
Write your answer to `{answer}` as Markdown with this front matter and these sections,
in this order:

```
---
task_id: {task_id}
verdict: ok | concerns | action_needed
proposals: []      # optional, see "Proposals"
---
## Summary
At most five sentences.

## Findings
| Severity | Where | Finding |
|---|---|---|
| info / warning / error | a file, a day, a model | one sentence each |

## Recommendations
1. One change per item, naming what it concerns, and why.

## Questions for the operator
- What the evidence cannot tell you.
```

Recommendations and proposals are for a person to approve, never instructions to run.
"""


class ModelFile(NamedTuple):
    path: str
    size: int
    mtime: float


def render(front: list[str], *, title: str, question: str, sections: Sequence[str],
           answer: str, task_id: str) -> str:
    body = [f"# Task: {title}", "", "## The question", "", question, "", *sections, "",
            PROPOSALS, "## Expected answer", "", ANSWER.format(answer=answer, task_id=task_id)]
    return "\n".join(front + body).rstrip() + "\n"


def figures(audits: Sequence[DailyAuditCompleted]) -> list[str]:
    """One line per day: the figures a strategic question starts from."""
    if not audits:
        return ["No audited day in the journal for this period."]
    rows = []
    for a in audits:
        rate = a.trades.win_rate_pct
        rows.append((a.day, a.trades.trades, "n/a" if rate is None else f"{rate} %",
                     money(a.pnl.realized_pnl), money(a.pnl.max_drawdown), a.orders.denied,
                     len(a.limits_fired), len(a.halts),
                     sum(c.count for c in a.anomalies)))
    return table(("Day", "Trades", "Win rate", "Realised PnL", "Max drawdown", "Denied",
                  "Limits fired", "State changes", "Anomalies"), rows, right=(1, 3, 4, 5, 6, 7, 8))


def code_sections(code: CodeSnapshot, *, excerpts: bool) -> list[str]:
    git = "a git work tree" if code.git else "not a git work tree"
    lines = ["## The repository", "",
             f"`{code.root}`: {code.total_files:,} files, {code.total_bytes:,} bytes, {git}.",
             "", *[f"> {note}" for note in code.notes], "", "## Files", ""]
    lines += table(("Path", "Bytes"), ((f"`{f.path}`" + (" (link)" if f.link else ""), f.size)
                                       for f in code.files), right=(1,))
    lines += ["", "## Recent changes", ""]
    if code.git_log.strip() or code.git_status.strip():
        lines += ["git log (recent commits and the files they touched):", "",
                  *fenced(code.git_log or "(none)", ""), "", "git status:", "",
                  *fenced(code.git_status or "(clean)", "")]
    elif code.recent:
        lines += ["Files modified recently (by file time), newest first:", "",
                  *[f"- `{path}`" for path in code.recent]]
    else:
        lines.append("No recent change found.")
    if excerpts:
        lines += ["", "## Excerpts", "",
                  "Recently changed files first, then entry points; each cut at a line end."]
        for excerpt in code.excerpts:
            cut = " (cut short)" if excerpt.truncated else ""
            lines += ["", f"### `{excerpt.path}`{cut}", "",
                      *fenced(excerpt.text, _language(excerpt.path))]
    return lines


def model_sections(models: Sequence[ModelFile], newest_data: float | None, *, now: float,
                   max_age_days: float) -> list[str]:
    lines = ["## Models", ""]
    if models:
        lines += table(("Model", "Bytes", "Modified (UTC)", "Age (days)"),
                       ((f"`{m.path}`", m.size, _utc(m.mtime), f"{(now - m.mtime) / 86_400:.1f}")
                        for m in models), right=(1, 3))
    else:
        lines.append("No model file matched the patterns of meta.yaml (retrain.models).")
    lines += ["", "## Data", ""]
    lines.append(f"Newest data file modified {_utc(newest_data)} UTC." if newest_data
                 else "No data file matched the patterns of meta.yaml (retrain.data).")
    lines += ["", f"The offline rule asks for a retrain of a model older than "
                  f"{max_age_days:g} days when newer data exists."]
    return lines


def fenced(text: str, language: str) -> list[str]:
    """A code fence longer than any backtick run inside, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text.rstrip("\n"), fence]


def _language(path: str) -> str:
    return {".py": "python", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json",
            ".md": "markdown"}.get(PurePosixPath(path).suffix, "")


def _utc(ts: float | None) -> str:
    if ts is None:
        return "n/a"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
