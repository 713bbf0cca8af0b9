"""Evidence for a risk-rule proposal: the last days replayed under the proposed limits.

A proposal to change ``risk.yaml`` says what it would change; this says what it
would have done. The proposed file (``risk.yaml`` with the proposal's changes,
exactly what approval would write as ``risk.yaml.proposed``) is loaded as the
kernel would, and the journal's last ``replay_days`` days (``meta.yaml``; today
so far included) are replayed through it (``kernel replay``, docs/replay.md):
the flips, the limits that would have tripped, the PnL had they tripped.

It is computed when a person looks (``kernel proposals show``, and ``approve``
before it asks), from the journal as it is then, read-only: the evidence is
never older than the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
import yaml

from agents.audit.journal import day_bounds
from agents.meta.proposals import Proposal
from agents.meta.risk_patch import PatchRefused, patch_risk_yaml
from agents.risk.replay_journal import JournalGap, replay_window
from risk.days import day_of
from risk.limits import RiskLimits
from risk.rerun_report import Report


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """The replay of ``first_day`` to ``last_day`` under the proposed limits, or why none."""

    first_day: str
    last_day: str
    days: int
    report: Report | None = None
    unavailable: str = ""
    """Why there is no replay (the patch is refused, the journal is missing or archived)."""


def risk_evidence(proposal: Proposal, *, risk_path: Path, journal_path: Path, days: int,
                  now: float, accounts: Mapping[str, str] | None = None) -> Evidence | None:
    """The evidence of a risk-rule proposal; None for any other kind. ``accounts``: a
    fleet's bots and their accounts, so each account's scope is checked as live."""
    if proposal.draft.kind != "risk_rule":
        return None
    try:
        proposed = _proposed_limits(risk_path, proposal.draft.changes)
    except (OSError, PatchRefused, msgspec.ValidationError, yaml.YAMLError) as exc:
        here = day_of(now, 0)
        return Evidence(first_day=here, last_day=here, days=days,
                        unavailable=f"the proposed risk.yaml cannot be built: {exc}")
    last = day_of(now, proposed.utc_offset_s)
    first = (date.fromisoformat(last) - timedelta(days=days - 1)).isoformat()
    start = day_bounds(first, proposed.utc_offset_s)[0]
    end = day_bounds(last, proposed.utc_offset_s)[1]
    try:
        found = replay_window(journal_path, start, end, proposed, accounts=accounts)
    except (JournalGap, FileNotFoundError, OSError) as exc:
        return Evidence(first_day=first, last_day=last, days=days, unavailable=str(exc))
    return Evidence(first_day=first, last_day=last, days=days, report=found)


def _proposed_limits(risk_path: Path, changes: dict[str, Any]) -> RiskLimits:
    text = patch_risk_yaml(risk_path.read_text(encoding="utf-8"), changes, note="replay")
    raw: Any = yaml.safe_load(text) or {}
    return msgspec.convert(raw, RiskLimits, strict=False)


def evidence_lines(evidence: Evidence, *, flips: int = 10) -> list[str]:
    """The evidence in plain lines (the caller shows each as outside text: the reasons
    carry bot ids and symbols)."""
    span = f"{evidence.first_day} to {evidence.last_day} ({evidence.days} day(s))"
    if evidence.report is None:
        return [f"replay of {span} under the proposed limits: unavailable: "
                f"{evidence.unavailable}"]
    r = evidence.report
    c = r.counts
    lines = [f"replay of {span} under the proposed limits (docs/replay.md): {c.orders:,} "
             f"orders, same {c.same:,}, ALLOW->DENY {sum(c.allow_to_deny.values()):,}, "
             f"DENY->ALLOW {sum(c.deny_to_allow.values()):,}, other DENY code {c.other_code:,}",
             "  exact throughout" if r.exact else
             f"  exact through journal row #{r.exact_through_seq}; later rows approximate"]
    for flip in r.flips[:flips]:
        lines.append(f"  #{flip.seq} {flip.bot_id} {flip.side} {flip.qty:g} {flip.symbol}: "
                     f"{flip.old_verdict} {flip.old_code} -> {flip.new_verdict} {flip.new_code}"
                     + ("" if flip.exact else " (approx)"))
    if len(r.flips) > flips:
        lines.append(f"  ... and {len(r.flips) - flips:,} more flips (kernel replay lists all)")
    lines += [f"  would trip {t.code} at row #{t.seq}" + (" (tripped live too)" if t.live
                                                          else "") for t in r.trips]
    o = r.outcome
    if o.pnl is not None and o.halted_at is not None:
        lines.append(f"  PnL {o.pnl:+.2f} USDT as it was, {o.pnl_with_halts:+.2f} USDT had the "
                     "new halts happened")
    return lines
