"""Shadow limits: ``config/risk.shadow.yaml`` judged beside the real limits on every order.

The shadow never decides anything. For each order the gate decides, it asks the
pure ``evaluate`` what the shadow limits would have answered, on the very state
the real engine judged the order on (its positions, reservations, rate tokens,
halts), and keeps a count; an order it would have answered otherwise becomes a
``shadow.decision`` row. It keeps no state of its own: it cannot drift from the
real engine, needs no heartbeat or fill of its own, and costs one pure
``evaluate`` (a few microseconds) per order, plus one journal row when it differs
(journaled only, not published: evidence, not news).

Its inputs are exactly the real engine's (order, state, now) with other limits,
so a gate that keeps one ledger per bot passes the bot's state and nothing else
changes here. What it cannot see, and says in docs/replay.md: a halt the shadow
limits would have made earlier lasts, live, only while the limit stays reached
(``check_losses`` denies at a reached loss limit without the halt); the halt
itself, and what follows from it, is what ``kernel replay`` shows.
"""

from __future__ import annotations

import msgspec

from bus.codec import encode
from bus.protocol import OrderRequest
from kernel.journal import JournalEntry
from risk import Decision, RiskLimits, RiskState, evaluate
from risk.messages import RiskStateSnapshot, ShadowCounts, ShadowDecisionDiffered


class Shadow:
    """The shadow limits and their counts; ``judge`` after each real decision."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self._orders = self._to_deny = self._to_allow = self._other = 0

    def judge(self, order: OrderRequest, state: RiskState, real: Decision,
              now: float) -> ShadowDecisionDiffered | None:
        """The row to journal when the shadow would have answered otherwise; ``state``
        is the one the real engine judged ``order`` on (before it recorded it)."""
        self._orders += 1
        shadow = evaluate(order, state, self.limits, now)
        if shadow.verdict == real.verdict and shadow.code == real.code:
            return None
        if shadow.verdict == real.verdict:
            self._other += 1
        elif shadow.verdict == "DENY":
            self._to_deny += 1
        else:
            self._to_allow += 1
        return ShadowDecisionDiffered(
            request_id=order.request_id, bot_id=order.bot_id, symbol=order.symbol,
            side=order.side, qty=order.qty, price=order.price, verdict=real.verdict,
            code=real.code, shadow_verdict=shadow.verdict, shadow_code=shadow.code,
            shadow_reason=shadow.reason, ts=now)

    def counted(self, snapshot: RiskStateSnapshot) -> RiskStateSnapshot:
        """``snapshot`` with the counts so far, for ``kernel status`` and the tap."""
        counts = ShadowCounts(orders=self._orders, allow_to_deny=self._to_deny,
                              deny_to_allow=self._to_allow, other_code=self._other)
        return msgspec.structs.replace(snapshot, shadow=counts)


def journal_entry(row: ShadowDecisionDiffered, source: str) -> JournalEntry:
    """The row for the journal alone: evidence to read later, not news for the bus (a
    shadow that denies every order then costs the gate one queued row per order)."""
    return JournalEntry(ts=row.ts, topic=row.topic, source=source, kind="shadow_decision",
                        payload=encode(row))
