"""The risk engine's answer to an operator's request: applied, or refused and why.

The control socket waits for it (``kernel/_answers.py``), so the operator's command
prints what the engine did with the request and exits non-zero on a refusal. Built
from the events the request caused and the state it left, after both are saved.
"""

from __future__ import annotations

from collections.abc import Sequence

from bus.protocol import Message
from kernel.events import (
    OperatorCommandAnswered,
    OperatorCommandIssued,
    RiskMultiplierChangeRequested,
)
from risk import RiskState
from risk.messages import OperatorCommandRefused, RiskAnomalyDetected, RiskMultiplierChanged

REFUSED_MULTIPLIER = "multiplier_refused"
"""The ``RiskAnomalyDetected`` kind of a refused multiplier request (shown in the tap)."""


def answer_to(request: OperatorCommandIssued | RiskMultiplierChangeRequested,
              events: Sequence[Message], state: RiskState, now: float, *,
              closes_sent: int = 0) -> OperatorCommandAnswered:
    """``closes_sent``: bots a ``close_all`` reached (0 is said plainly: close by hand)."""
    action = request.action if isinstance(request, OperatorCommandIssued) else "risk_multiplier"
    refusal = _refusal(events)
    if refusal is not None:
        return OperatorCommandAnswered(request_id=request.request_id, action=action,
                                       outcome="refused", detail=refusal[:4096], ts=now)
    if isinstance(request, RiskMultiplierChangeRequested):
        detail = _multiplier_detail(events, state)
    else:
        detail = _trading_detail(state)
        if action == "close_all":
            detail += (f"; close_all sent to {closes_sent} connected bot(s)" if closes_sent else
                       "; no bot is connected to receive close_all: close the positions by hand")
    return OperatorCommandAnswered(request_id=request.request_id, action=action,
                                   outcome="applied", detail=detail[:4096], ts=now)


def _refusal(events: Sequence[Message]) -> str | None:
    for event in events:
        if isinstance(event, OperatorCommandRefused):
            return event.reason
        if isinstance(event, RiskAnomalyDetected) and event.kind == REFUSED_MULTIPLIER:
            return event.detail
    return None


def _trading_detail(state: RiskState) -> str:
    reasons = "; ".join(r.text for r in state.reasons)
    return f"trading {state.trading_state}" + (f" ({reasons})" if reasons else "")


def _multiplier_detail(events: Sequence[Message], state: RiskState) -> str:
    changed = next((e for e in events if isinstance(e, RiskMultiplierChanged)), None)
    if changed is None:
        return f"risk multiplier {state.risk_multiplier:g}"
    return f"risk multiplier {changed.previous:g} -> {changed.current:g}"
