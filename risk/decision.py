"""The answer of the rules to one order request, and its stable codes."""

from __future__ import annotations

from typing import Final, get_args

import msgspec

from bus.protocol import (
    OrderDecision,
    OrderRequest,
    RiskCode,
    TradingState,
    Verdict,
    make_decision,
)

CODES: Final[frozenset[str]] = frozenset(get_args(RiskCode))
"""Every ``code`` the rules can decide with; clients may rely on these words.
The list is :data:`bus.protocol.RiskCode`, part of the link contract."""


class Decision(msgspec.Struct, frozen=True):
    """ALLOW or DENY, the stable ``code``, and a sentence that names the numbers."""

    verdict: Verdict
    code: RiskCode
    reason: str

    @property
    def allowed(self) -> bool:
        return self.verdict == "ALLOW"


def allow(reason: str) -> Decision:
    return Decision("ALLOW", "allowed", reason)


def deny(code: RiskCode, reason: str) -> Decision:
    """A DENY; ``code`` is typed, so an unknown one is a type error, not a runtime one."""
    return Decision("DENY", code, reason)


def order_decision(order: OrderRequest, decision: Decision,
                   trading_state: TradingState, now: float) -> OrderDecision:
    """The contract reply for the bot, stamped ``now`` (the contract cuts the reason to
    its bound)."""
    return make_decision(request_id=order.request_id, verdict=decision.verdict,
                         reason=decision.reason, code=decision.code,
                         trading_state=trading_state, bot_id=order.bot_id, ts=now)
