"""Shadow limits: ``config/risk.shadow.yaml`` judged beside the real limits on every order.

The shadow never decides anything. For each order the gate decides, it asks the
pure ``evaluate`` what the shadow limits would have answered, on the very state
the real engine judged the order on (its positions, reservations, rate tokens,
halts), and keeps a count; an order it would have answered otherwise becomes a
``shadow.decision`` row. It keeps no state of its own: it cannot drift from the
real engine, needs no heartbeat or fill of its own, and costs one pure
``evaluate`` (a few microseconds) per order, plus one journal row when it differs
(journaled only, not published: evidence, not news).

The bot does not wait for it. The state judged on is immutable, so the judging
can happen later on the very same inputs: the gate queues (order, state, decision,
now) with :class:`DeferredShadow` and the queue is judged in a callback of the
next turn of the loop, after the gateway has committed the burst's decisions and
sent their replies (``SocketDrain`` runs the burst and its end in one callback).
Every queued order is still judged, in order, and its row journaled: at the next
turn, before a snapshot reports the counts, and on stop.

Its inputs are exactly the real engine's (order, state, now) with other limits,
so a gate that keeps one ledger per bot passes the bot's state and nothing else
changes here. What it cannot see, and says in docs/replay.md: a halt the shadow
limits would have made earlier lasts, live, only while the limit stays reached
(``check_losses`` denies at a reached loss limit without the halt); the halt
itself, and what follows from it, is what ``kernel replay`` shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from bus.codec import encode
from bus.protocol import OrderRequest
from kernel.event_format import severity_of
from kernel.journal import JournalEntry
from risk import Decision, RiskLimits, RiskState, evaluate
from risk.messages import RiskStateSnapshot, ShadowCounts, ShadowDecisionDiffered

log = logging.getLogger("agents.risk")

KIND = "shadow_decision"

Judgement = tuple[OrderRequest, RiskState, Decision, float]
"""What the gate decided on: the order, the state judged on, the real decision, the time."""


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


class DeferredShadow:
    """The shadow's judgements, queued by the gate and made once the replies are out.

    ``record`` takes each row that differs (the actor journals it). The queue holds
    at most the orders of one turn of the loop (the gateway's burst): the callback
    that empties it is scheduled with the first of them. Nothing here can reach the
    decision: it was made and queued for sending before any of this runs, and a
    failing judge or journal is logged and skipped, order by order.
    """

    def __init__(self, shadow: Shadow, record: Callable[[ShadowDecisionDiffered], None]) -> None:
        self.shadow = shadow
        self._record = record
        self._queued: list[Judgement] = []
        self._scheduled = False

    @property
    def pending(self) -> int:
        """Orders decided and not judged yet."""
        return len(self._queued)

    def queue(self, order: OrderRequest, state: RiskState, real: Decision, now: float) -> None:
        """Judge ``order`` later, on ``state`` (the one the real engine judged it on)."""
        self._queued.append((order, state, real, now))
        if self._scheduled:
            return
        try:
            asyncio.get_running_loop().call_soon(self.flush)
            self._scheduled = True
        except RuntimeError:  # no running loop (a synchronous caller): judge at once
            self.flush()

    def flush(self) -> None:
        """Judge every queued order now, in the order decided, and record each difference."""
        self._scheduled = False
        queued, self._queued = self._queued, []
        for order, state, real, now in queued:
            try:
                differed = self.shadow.judge(order, state, real, now)
                if differed is not None:
                    self._record(differed)
            except Exception:  # the shadow may fail; the decision made stands regardless
                log.exception("shadow limits failed on %s", order.request_id)


def journal_entry(row: ShadowDecisionDiffered, source: str) -> JournalEntry:
    """The row for the journal alone: evidence to read later, not news for the bus.

    Made after the reply, and with its severity worked out here: the journal's
    writer would otherwise decode the payload for it inside the next commit, which
    is the next order's (3 to 5 of the 15 to 20 µs one more row adds to that commit,
    ``scripts/bench_gate.py --shadow``)."""
    payload = encode(row)
    return JournalEntry(ts=row.ts, topic=row.topic, source=source, kind=KIND, payload=payload,
                        severity=severity_of(KIND, payload))
