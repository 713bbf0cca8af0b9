"""Reading a Meta-Agent's report: its front matter, its verdict and the changes it proposes.

A report is Markdown with YAML front matter (docs/meta-agent.md). It comes from
a program we do not control, so it is read defensively: the front matter is
bounded in size and parsed without YAML aliases (no "billion laughs"), every
proposal is validated on its own, and each problem becomes a note rather than
an exception. A report without front matter is still a report (a person can
read it); it just proposes nothing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, NamedTuple, TypeAlias

import msgspec
import yaml

ProposalKind: TypeAlias = Literal["strategy", "feature", "risk_rule", "retrain"]
Verdict: TypeAlias = Literal["ok", "concerns", "action_needed"]
VERDICTS: Final = ("ok", "concerns", "action_needed")
FRONT_MATTER_MAX: Final = 64 * 1024
_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+){0,3}$")


class ProposalDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A candidate change as a report states it; nothing is applied without approval."""

    kind: ProposalKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    rationale: Annotated[str, msgspec.Meta(max_length=8000)] = ""
    changes: Annotated[dict[str, Any], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=dict)
    """risk_rule only: ``risk.yaml`` keys (dotted for nested ones) and their new values."""
    target: Annotated[str, msgspec.Meta(max_length=500)] = ""
    """What it is about: the model file to retrain, the module a feature touches."""
    details: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    """The plan in full: steps, data window, a sketch of the code."""


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    severity: Literal["info", "warning", "error"]
    where: Annotated[str, msgspec.Meta(max_length=300)] = ""
    """Journal rows (seq), a file and line, a day, a model."""
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=1500)]


class MetaAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The report as a structure; rendered to the Markdown of the contract."""

    verdict: Verdict
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=3000)]
    findings: Annotated[list[Finding], msgspec.Meta(max_length=40)] = msgspec.field(
        default_factory=list)
    recommendations: Annotated[list[Annotated[str, msgspec.Meta(max_length=1500)]],
                               msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    questions: Annotated[list[Annotated[str, msgspec.Meta(max_length=1000)]],
                         msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    proposals: Annotated[list[ProposalDraft], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list)


class ParsedReport(NamedTuple):
    front: dict[str, Any]
    body: str
    verdict: Verdict | None
    drafts: list[ProposalDraft]
    notes: list[str]


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: a small text cannot expand into a huge one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted")
        return super().compose_node(parent, index)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(the YAML between the leading ``---`` lines, the rest); None when there is none."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith("---"):
        return None, text
    lines = stripped.splitlines(keepends=True)
    if lines[0].strip() != "---":
        return None, text
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1:])
    return None, text


def parse_report(text: str, *, task_id: str, max_proposals: int) -> ParsedReport:
    """The report's parts; problems are returned as notes, never raised."""
    notes: list[str] = []
    raw, body = split_front_matter(text)
    if raw is None:
        return ParsedReport({}, text, None, [], ["the report has no front matter "
                                                 "(--- lines): no verdict, no proposals read"])
    if len(raw) > FRONT_MATTER_MAX:
        return ParsedReport({}, body, None, [], [f"the front matter is longer than "
                                                 f"{FRONT_MATTER_MAX} bytes: not read"])
    try:
        front: Any = yaml.load(raw, Loader=_NoAliasLoader)  # the loader is a SafeLoader
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:300]
        return ParsedReport({}, body, None, [], [f"the front matter is not valid YAML: {first}"])
    if not isinstance(front, dict):
        return ParsedReport({}, body, None, [], ["the front matter is not a mapping of keys"])
    verdict = front.get("verdict")
    if verdict not in VERDICTS:
        notes.append(f"verdict {str(verdict)[:40]!r} is not one of {', '.join(VERDICTS)}")
        verdict = None
    if str(front.get("task_id", task_id)) != task_id:
        notes.append(f"the report names task {str(front.get('task_id'))[:80]!r}, "
                     f"not {task_id!r}")
    drafts = _drafts(front.get("proposals"), max_proposals, notes)
    return ParsedReport(front, body, verdict, drafts, notes)


def _drafts(raw: Any, limit: int, notes: list[str]) -> list[ProposalDraft]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        notes.append("`proposals` is not a list: no proposal read")
        return []
    if len(raw) > limit:
        notes.append(f"{len(raw)} proposals: only the first {limit} were read (max_proposals)")
    drafts: list[ProposalDraft] = []
    for number, item in enumerate(raw[:limit], start=1):
        try:
            draft = msgspec.convert(item, ProposalDraft)
        except msgspec.ValidationError as exc:
            notes.append(f"proposal {number} left out: {exc}")
            continue
        problem = draft_problem(draft)
        if problem:
            notes.append(f"proposal {number} ({draft.title[:60]!r}) left out: {problem}")
            continue
        drafts.append(draft)
    return drafts


def draft_problem(draft: ProposalDraft) -> str:
    """Why a well-typed draft still cannot be a proposal; empty when it can."""
    if draft.kind == "risk_rule":
        if not draft.changes:
            return "a risk_rule proposal needs `changes` (risk.yaml keys and new values)"
        bad = [key for key in draft.changes if not _KEY.match(key)]
        if bad:
            return f"not a risk.yaml key: {bad[0][:60]!r} (write `max_leverage` or " \
                   "`risk_multiplier.max`)"
    elif draft.changes:
        return "only a risk_rule proposal may carry `changes`"
    return ""


def proposals_front_matter(drafts: list[ProposalDraft]) -> str:
    """The ``proposals:`` block of a report's front matter (for the built-in Meta-Agent)."""
    if not drafts:
        return ""
    items = [{k: v for k, v in msgspec.to_builtins(d).items() if v not in ("", {}, [])}
             for d in drafts]
    dumped: str = yaml.safe_dump({"proposals": items}, sort_keys=False, allow_unicode=True,
                                 width=100)
    return dumped
