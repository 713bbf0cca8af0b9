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
import getpass
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import yaml
from rich.console import Console
from rich.table import Table

from agents.meta.pipeline import proposal_store
from agents.meta.proposal_review import approve, reject
from agents.meta.proposals import STATUSES, Proposal, ProposalError
from agents.meta.risk_patch import PatchRefused, patch_risk_yaml, unified_diff
from kernel.console._meta_record import JournalHandOff
from kernel.settings import Settings

EXIT_PROPOSAL = 10
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
        parser.set_defaults(handler=bind(_approve if action == "approve" else _reject))


def _guarded(command: Callable[[argparse.Namespace, Settings], int], args: argparse.Namespace,
             settings: Settings) -> int:
    try:
        return command(args, settings)
    except ProposalError as exc:
        err.print(f"[red]refused:[/red] {exc}")
        return EXIT_PROPOSAL


def _user() -> str:
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):
        return "unknown"


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
        table.add_row(str(p.id), p.status, p.draft.kind, p.draft.title, f"{p.job} ({p.source})",
                      _utc(p.created), p.decided_by or "")
    out.print(table)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    store = proposal_store(settings.data_dir)
    proposal, history = store.get(args.id), store.history(args.id)
    if args.json:
        body = {**msgspec.to_builtins(proposal), "history": msgspec.to_builtins(history)}
        sys.stdout.write(msgspec.json.encode(body).decode() + "\n")
        return 0
    out, draft = Console(highlight=False), proposal.draft
    out.print(f"[bold]proposal {proposal.id}[/bold] ({draft.kind}): {draft.title}")
    out.print(f"status {proposal.status}; from {proposal.job} task {proposal.task_id} "
              f"({proposal.source}), created {_utc(proposal.created)} UTC")
    for label, value in (("rationale", draft.rationale), ("target", draft.target),
                         ("details", draft.details)):
        if value:
            out.print(f"{label}: {value}", markup=False)
    if draft.changes:
        out.print("changes:\n" + yaml.safe_dump(draft.changes, sort_keys=False).rstrip(),
                  markup=False)
    if proposal.status == "pending" and draft.kind == "risk_rule":
        out.print(_preview(proposal, settings), markup=False)
    for entry in history:
        out.print(f"{_utc(entry.ts)} {entry.status} by {entry.by}: {entry.reason}", markup=False)
    for path in proposal.artefacts:
        out.print(f"written: {path}")
    return 0


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
    reviewed = approve(proposal_store(settings.data_dir), args.id,
                       risk_path=settings.config_dir / "risk.yaml", by=_user(),
                       reason=args.reason, now=time.time(), journal=JournalHandOff(settings))
    out = Console(highlight=False)
    out.print(f"proposal {args.id} approved (journaled). Nothing was applied.")
    for path in reviewed.artefacts:
        out.print(f"written: {path}")
    if reviewed.artefacts:
        out.print("To apply: read the diff, copy risk.yaml.proposed over risk.yaml, run "
                  "`kernel check`, then restart the kernel.")
    return 0


def _reject(args: argparse.Namespace, settings: Settings) -> int:
    reject(proposal_store(settings.data_dir), args.id, by=_user(), reason=args.reason,
           now=time.time(), journal=JournalHandOff(settings))
    Console(highlight=False).print(f"proposal {args.id} rejected (journaled)")
    return 0


def _utc(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
