"""A person's decision on a proposal: approve or reject, each step journaled first.

Approval applies nothing. For a risk-rule proposal it writes the reviewed patch
beside the live limits (``risk.yaml.proposed`` and ``risk.yaml.proposed.diff``),
checked by loading the proposed file exactly as the kernel would
(:func:`kernel.config.load_yaml` into ``RiskLimits``); a person moves it into
place. For a strategy, feature or retrain proposal the approval is the record
that a person agreed; the work itself is theirs.

Order of steps: check, write the files, journal the decision, then update the
store. A decision that cannot be journaled is not taken (the files just written
are removed), so the store never holds a decision the record lacks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple, NoReturn

from agents.audit.files import OutputUnwritable, write_text
from agents.meta.messages import ProposalDecided, ProposalRefused
from agents.meta.proposals import Proposal, ProposalError, ProposalStore
from agents.meta.risk_patch import PatchRefused, patch_risk_yaml, unified_diff
from bus.protocol import Message
from kernel.config import ConfigError, load_yaml
from risk.limits import RiskLimits

Journal = Callable[[Message], str]
"""Journals one message; returns an empty string when it did, else why not."""


class Reviewed(NamedTuple):
    proposal: Proposal
    artefacts: list[Path]


def approve(store: ProposalStore, proposal_id: int, *, risk_path: Path, by: str, reason: str,
            now: float, journal: Journal) -> Reviewed:
    """Approve a pending proposal; :class:`ProposalError` (journaled) when it cannot be."""
    proposal = _pending(store, proposal_id, "approve", by, reason, now, journal)
    artefacts: list[Path] = []
    if proposal.draft.kind == "risk_rule":
        try:
            artefacts = write_risk_patch(proposal, risk_path, by=by, reason=reason)
        except (PatchRefused, ConfigError, OutputUnwritable, OSError) as exc:
            _refuse(proposal_id, "approve", by, f"the risk-rule change cannot be proposed: "
                                                f"{exc}", now, journal)
    names = [str(path) for path in artefacts]
    failure = journal(ProposalDecided(proposal_id=proposal_id, decision="approved", by=by,
                                      reason=reason[:4096], ts=now, artefacts=names))
    if failure:
        for path in artefacts:
            with contextlib.suppress(OSError):
                path.unlink()
        raise ProposalError(f"not approved: the decision could not be journaled ({failure})")
    return Reviewed(store.decide(proposal_id, "approved", by=by, reason=reason, now=now,
                                 artefacts=names), artefacts)


def reject(store: ProposalStore, proposal_id: int, *, by: str, reason: str, now: float,
           journal: Journal) -> Reviewed:
    _pending(store, proposal_id, "reject", by, reason, now, journal)
    failure = journal(ProposalDecided(proposal_id=proposal_id, decision="rejected", by=by,
                                      reason=reason[:4096], ts=now))
    if failure:
        raise ProposalError(f"not rejected: the decision could not be journaled ({failure})")
    return Reviewed(store.decide(proposal_id, "rejected", by=by, reason=reason, now=now,
                                 artefacts=[]), [])


def write_risk_patch(proposal: Proposal, risk_path: Path, *, by: str, reason: str) -> list[Path]:
    """``risk.yaml.proposed`` and its diff beside ``risk_path``; both or neither."""
    current = risk_path.read_text(encoding="utf-8")
    proposed = patch_risk_yaml(current, proposal.draft.changes,
                               note=f"added by proposal {proposal.id}: {proposal.draft.title}")
    target = risk_path.with_name(risk_path.name + ".proposed")
    diff_path = target.with_name(target.name + ".diff")
    _refuse_to_overwrite(target, diff_path, current, risk_path)
    write_text(target, proposed, what="proposed risk limits")
    try:
        load_yaml(target, RiskLimits)  # exactly as the kernel would load it
    except ConfigError:
        target.unlink(missing_ok=True)
        raise
    header = (f"# Proposal {proposal.id} ({proposal.draft.kind}): {proposal.draft.title}\n"
              f"# Approved by {by}: {' '.join(reason.split())}\n"
              f"# Not applied. To apply: read this diff, copy {target.name} over "
              f"{risk_path.name}, run `kernel check`, restart the kernel.\n")
    diff = unified_diff(current, proposed, before_name=risk_path.name, after_name=target.name)
    try:
        write_text(diff_path, header + diff, what="diff of the proposed risk limits")
    except OutputUnwritable:
        target.unlink(missing_ok=True)
        raise
    return [target, diff_path]


def _refuse_to_overwrite(target: Path, diff_path: Path, current: str, risk_path: Path) -> None:
    """An earlier approved change still waiting to be applied is never overwritten.

    Once a person has copied it over the live file (the two are the same), or
    deleted it, the place is free again.
    """
    try:
        waiting = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    if waiting == current:
        return
    try:
        origin = diff_path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    except (OSError, IndexError):
        origin = "an earlier approval"
    raise PatchRefused(
        f"{target} still holds a reviewed change that is not applied ({origin}); apply it "
        f"(copy it over {risk_path.name}) or delete it and {diff_path.name}, then approve "
        "again")


def _pending(store: ProposalStore, proposal_id: int, action: Literal["approve", "reject"],
             by: str, reason: str, now: float, journal: Journal) -> Proposal:
    if not reason.strip():
        _refuse(proposal_id, action, by, "a reason is required (--reason)", now, journal)
    try:
        proposal = store.get(proposal_id)
    except ProposalError as exc:
        _refuse(proposal_id, action, by, str(exc), now, journal)
    if proposal.status != "pending":
        _refuse(proposal_id, action, by, f"proposal {proposal_id} is already "
                f"{proposal.status} (by {proposal.decided_by}); a decision is final", now,
                journal)
    return proposal


def _refuse(proposal_id: int, action: Literal["approve", "reject"], by: str, reason: str,
            now: float, journal: Journal) -> NoReturn:
    journal(ProposalRefused(proposal_id=proposal_id, action=action, by=by, reason=reason[:4096],
                            ts=now))
    raise ProposalError(reason)
