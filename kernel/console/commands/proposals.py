"""``kernel proposals list | show ID | approve ID --reason | reject ID --reason``.

The store is read and changed directly (it is its own small SQLite file, safe
beside a running kernel); every decision is journaled first, through the
running kernel or straight into the journal (:mod:`kernel.console._meta_record`), and
a decision that cannot be journaled is not taken. ``show`` on a pending
risk-rule proposal prints the diff approval would write, so a person reviews
the exact change before saying yes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agents.meta.pipeline import proposal_store
from agents.meta.proposal_review import approve, reject
from agents.meta.proposals import STATUSES, HistoryEntry, Proposal, ProposalError
from agents.meta.risk_evidence import Evidence, evidence_lines, risk_evidence
from agents.meta.risk_patch import PatchRefused, patch_risk_yaml, unified_diff
from kernel.console._args import operator_name
from kernel.console._meta_record import JournalHandOff
from kernel.settings import Settings
from kernel.untrusted import ident, one_line, quoted

EXIT_PROPOSAL = 10
TEXT_LIMIT = 20_000
"""A proposal's rationale or details, shown in full up to this many characters."""
err = Console(stderr=True, highlight=False)
SettingsOf = Callable[[argparse.Namespace], Settings]


def add_proposal_commands(sub: Any, settings_of: SettingsOf) -> None:
    def bind(command: Callable[[argparse.Namespace, Settings], int]) -> Any:
        return lambda args: _guarded(command, args, settings_of(args))

    proposals = sub.add_parser("proposals", help="candidate changes from the Meta-Agent, "
                               "waiting for a person's decision")
    proposals_sub = proposals.add_subparsers(dest="proposals_command", required=True)
    listing = proposals_sub.add_parser("list", help="the proposals (default: pending ones)")
    listing.add_argument("--status", choices=[*STATUSES, "all"], default="pending")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=bind(_list))
    show = proposals_sub.add_parser("show", help="one proposal in full, with its history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=bind(_show))
    for action, text in (("approve", "approve: records it; a risk rule gets risk.yaml.proposed "
                          "and a diff beside risk.yaml, never applied"),
                         ("reject", "reject: records it, with the reason")):
        parser = proposals_sub.add_parser(action, help=text)
        parser.add_argument("id", type=int)
        parser.add_argument("--reason", required=True, help="why (journaled)")
        if action == "approve":
            parser.add_argument("--yes", action="store_true", help="do not ask at a terminal "
                                "after showing a risk-rule proposal's replay")
        parser.set_defaults(handler=bind(_approve if action == "approve" else _reject))


def _guarded(command: Callable[[argparse.Namespace, Settings], int], args: argparse.Namespace,
             settings: Settings) -> int:
    try:
        return command(args, settings)
    except ProposalError as exc:
        err.print(Text.assemble(("refused:", "red"), " ", one_line(exc)))
        return EXIT_PROPOSAL



def _list(args: argparse.Namespace, settings: Settings) -> int:
    found = proposal_store(settings.data_dir).all(None if args.status == "all" else args.status)
    if args.json:
        sys.stdout.write(msgspec.json.encode(found).decode() + "\n")
        return 0
    out = Console(highlight=False)
    if not found:
        out.print(f"no {'' if args.status == 'all' else args.status + ' '}proposal")
        return 0
    table = Table("id", "status", "kind", "title", "from", "created (UTC)", "decided by")
    for p in found:
        table.add_row(str(p.id), p.status, Text(ident(p.draft.kind)), Text(quoted(p.draft.title)),
                      Text(one_line(f"{ident(p.job)} ({ident(p.source)})")), _utc(p.created),
                      Text(ident(p.decided_by or "")))
    out.print(table)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    store = proposal_store(settings.data_dir)
    proposal, history = store.get(args.id), store.history(args.id)
    evidence = _evidence(proposal, settings)
    if args.json:
        body = {**msgspec.to_builtins(proposal), "history": msgspec.to_builtins(history),
                "replay": msgspec.to_builtins(evidence)}
        sys.stdout.write(msgspec.json.encode(body).decode() + "\n")
        return 0
    out = Console(highlight=False)
    _print_proposal(proposal, history, settings, out)
    _print_evidence(evidence, out)
    return 0


def _evidence(proposal: Proposal, settings: Settings) -> Evidence | None:
    """The replay of a pending risk-rule proposal (docs/replay.md); None otherwise."""
    if proposal.status != "pending":
        return None
    return risk_evidence(proposal, risk_path=settings.config_dir / "risk.yaml",
                         journal_path=settings.journal_path, days=settings.meta.replay_days,
                         now=time.time(), accounts=settings.paths.accounts())


def _print_evidence(evidence: Evidence | None, out: Console) -> None:
    for line in evidence_lines(evidence) if evidence is not None else ():
        out.print(Text(one_line(line, 1000)))


def _print_proposal(proposal: Proposal, history: list[HistoryEntry], settings: Settings,
                    out: Console) -> None:
    """Everything in a proposal was written by the Meta-Agent: each value is shown
    quoted on its own line, as rich ``Text`` (kernel/untrusted.py); the diff, which
    spans lines by nature, is printed line by line with control characters shown."""
    draft = proposal.draft
    out.print(Text.assemble((f"proposal {proposal.id}", "bold"),
                            one_line(f" ({ident(draft.kind)}): {quoted(draft.title)}")))
    out.print(Text(one_line(f"status {proposal.status}; from {ident(proposal.job)} task "
                            f"{ident(proposal.task_id, 200)} ({ident(proposal.source)}), "
                            f"created {_utc(proposal.created)} UTC")))
    for label, value in (("rationale", draft.rationale), ("target", draft.target),
                         ("details", draft.details)):
        if value:
            out.print(Text(f"{label}: {quoted(value, TEXT_LIMIT)}"))
    if draft.changes:
        out.print("changes:")
        for key, value in draft.changes.items():
            shown = quoted(value) if isinstance(value, str) else \
                one_line(msgspec.json.encode(value).decode(), 500)
            out.print(Text(one_line(f"  {ident(key, 200)}: {shown}")))
    if proposal.status == "pending" and draft.kind == "risk_rule":
        for line in _preview(proposal, settings).splitlines():
            out.print(Text(one_line(line)))
    for entry in history:
        out.print(Text(one_line(f"{_utc(entry.ts)} {entry.status} by {ident(entry.by)}: "
                                f"{quoted(entry.reason)}")))
    for path in proposal.artefacts:
        out.print(Text(one_line(f"written: {ident(path, 500)}")))


def _preview(proposal: Proposal, settings: Settings) -> str:
    risk = settings.config_dir / "risk.yaml"
    try:
        current = risk.read_text(encoding="utf-8")
        after = patch_risk_yaml(current, proposal.draft.changes, note="preview")
    except (OSError, PatchRefused) as exc:
        return f"approval would be refused: {exc}"
    diff = unified_diff(current, after, before_name="risk.yaml", after_name="risk.yaml.proposed")
    return "approval would write this diff (nothing is applied):\n" + diff.rstrip()


def _approve(args: argparse.Namespace, settings: Settings) -> int:
    store = proposal_store(settings.data_dir)
    evidence = _evidence(store.get(args.id), settings)
    if evidence is not None:
        _print_evidence(evidence, Console(highlight=False))
        if not args.yes and sys.stdin.isatty() and not _confirmed(args.id):
            err.print(f"proposal {args.id} left pending: not confirmed")
            return EXIT_PROPOSAL
    reviewed = approve(proposal_store(settings.data_dir), args.id,
                       risk_path=settings.config_dir / "risk.yaml", by=operator_name(),
                       reason=args.reason, now=time.time(), journal=JournalHandOff(settings))
    out = Console(highlight=False)
    out.print(f"proposal {args.id} approved (journaled). Nothing was applied.")
    for path in reviewed.artefacts:
        out.print(Text(one_line(f"written: {ident(path, 500)}")))
    if reviewed.artefacts:
        out.print("To apply: read the diff, copy risk.yaml.proposed over risk.yaml, run "
                  "`kernel check`, then restart the kernel.")
    return 0


def _confirmed(proposal_id: int) -> bool:
    """Asked at a terminal only: a script's ``--reason`` is its deliberate act."""
    try:
        answer = input(f"approve proposal {proposal_id} with this evidence? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _reject(args: argparse.Namespace, settings: Settings) -> int:
    reject(proposal_store(settings.data_dir), args.id, by=operator_name(), reason=args.reason,
           now=time.time(), journal=JournalHandOff(settings))
    Console(highlight=False).print(f"proposal {args.id} rejected (journaled)")
    return 0


def _utc(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
