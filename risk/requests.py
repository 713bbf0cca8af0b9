"""Who may change what: the answers to a resume and to a request for another multiplier.

The risk engine's actor only carries these answers out (it sends the command to
the bot, journals the refusal); the rules themselves are here, pure, so a test
can state them with numbers:

- A halt the market caused (``LIMIT_HALTS``: a loss limit, a drawdown, a loss
  streak) is lifted by ``resume`` only with the operator's confirmation, because
  a resume re-arms the tripped limit from the equity of now. A manual halt, a
  close-all or a failed bot needs no confirmation.
- An adviser (the LLM moderator) may only lower the risk multiplier; a person may
  set any value within the ``risk.yaml`` bounds. This is a second guard behind the
  moderator's own rules, so an adviser's bug cannot raise risk. An adviser's cut
  lasts for its trading day; a person's value until a person changes it
  (``risk.multiplier``).
"""

from __future__ import annotations

from typing import Final

import msgspec

from risk.lifecycle import Step, resume, set_risk_multiplier
from risk.limits import RiskLimits
from risk.state import RiskState

LIMIT_HALTS: Final = frozenset({"daily_loss_limit", "drawdown_limit", "trailing_drawdown_limit",
                                "consecutive_losses"})
"""Halts the market caused: lifting one by ``resume`` needs the operator's confirmation."""
ADVISERS: Final = ("moderator",)
"""``requested_by`` prefixes of advisers, who may lower the multiplier but never raise it."""


class Refused(msgspec.Struct, frozen=True):
    """The request is not carried out; ``reason`` says why and what to do."""

    reason: str


def resume_refusal(state: RiskState, *, confirmed: bool) -> str | None:
    """Why a resume must wait for confirmation, or None when it may go ahead."""
    tripped = [r for r in state.reasons if r.code in LIMIT_HALTS]
    if not tripped or confirmed:
        return None
    limits = "; ".join(r.text for r in tripped)
    return (f"trading was halted by a limit ({limits}); resuming lifts it and re-arms the "
            "limit from the equity of now, so it needs confirmation: run `kernel resume "
            "--yes --reason ...`")


def operator_resume(state: RiskState, reason: str, limits: RiskLimits, now: float, *,
                    confirmed: bool) -> Step | Refused:
    """A person's ``kernel resume``: the resume, or why it waits for ``--yes``."""
    refusal = resume_refusal(state, confirmed=confirmed)
    return Refused(refusal) if refusal is not None else resume(state, reason, limits, now)


def is_adviser(requested_by: str) -> bool:
    return requested_by.startswith(ADVISERS)


def multiplier_request(state: RiskState, value: float, *, requested_by: str, reason: str,
                       limits: RiskLimits, now: float) -> Step | Refused:
    """Set the multiplier within the bounds, unless an adviser asks to raise it."""
    if is_adviser(requested_by) and value > state.risk_multiplier:
        return Refused(f"{requested_by} asked to raise risk_multiplier from "
                       f"{state.risk_multiplier:g} to {value:g}; only a person may raise it")
    try:
        return set_risk_multiplier(state, value, reason, limits, now, by=requested_by,
                                   temporary=is_adviser(requested_by))
    except ValueError as exc:
        return Refused(str(exc))
