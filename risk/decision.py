"""The answer of the rules to one order request, and its stable codes."""

from __future__ import annotations

from typing import Final

import msgspec

from bus.protocol import OrderDecision, OrderRequest, TradingState, Verdict

CODES: Final = frozenset({
    "allowed", "invalid_request", "duplicate_request", "reduce_only_invalid", "no_position",
    "halted", "reducing_only", "symbol_not_allowed", "no_equity", "no_mark_price",
    "stale_feed", "daily_loss_limit", "drawdown_limit", "trailing_drawdown_limit",
    "consecutive_losses", "leverage_limit", "fat_finger_qty", "fat_finger_notional",
    "price_collar", "open_orders_limit", "rate_limit", "notional_limit", "internal_error",
})
"""Every ``code`` a decision can carry; clients may rely on these words."""


class Decision(msgspec.Struct, frozen=True):
    """ALLOW or DENY, the stable ``code``, and a sentence that names the numbers."""

    verdict: Verdict
    code: str
    reason: str

    @property
    def allowed(self) -> bool:
        return self.verdict == "ALLOW"


def allow(reason: str) -> Decision:
    return Decision("ALLOW", "allowed", reason)


def deny(code: str, reason: str) -> Decision:
    assert code in CODES, code
    return Decision("DENY", code, reason)


def order_decision(order: OrderRequest, decision: Decision,
                   trading_state: TradingState) -> OrderDecision:
    """The contract reply for the bot; the reason is cut to the contract's bound."""
    return OrderDecision(request_id=order.request_id, verdict=decision.verdict,
                         reason=decision.reason[:4096], code=decision.code,
                         trading_state=trading_state, bot_id=order.bot_id)
