"""Replay a stretch of the journal through the pure engine under other limits.

The live gate is a loop over facts: requests are decided by ``decide``,
heartbeats, fills and updates move the ledger, people halt and resume, a timer
runs ``check_limits``. A replay is the same loop over the journaled facts, in
journal order, at their journal times, with the limits given: every request is
decided again and set beside the decision the journal holds.

The fills are the real ones, made by the orders really allowed: once a decision
has flipped, every later one is approximate (``risk.rerun_report``).

Exactness with the limits in force rests on what the journal holds: the request
row's time is the decision time, the saved state (each bot's, in a fleet:
``risk.rerun_fleet``) the replay starts from, and every fact the engine acts on.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from bus.protocol import Fill, Heartbeat, OrderDecision, OrderRequest, OrderUpdate
from risk.breakers import check_limits
from risk.decision import Decision
from risk.engine import apply_decision, decide
from risk.fills import apply_fill
from risk.heartbeat import apply_heartbeat
from risk.lifecycle import Step, halt
from risk.limits import RiskLimits
from risk.messages import LimitTripped, RiskEvent
from risk.money import ZERO
from risk.orders import apply_order_update
from risk.requests import Refused, multiplier_request, operator_resume
from risk.rerun_facts import (
    KERNEL_CODES,
    Ahead,
    Based,
    Fact,
    Halted,
    Loaded,
    MultiplierAsked,
    Restarted,
    Resumed,
    Row,
)
from risk.rerun_fleet import ONE, Fleet, Ledgers
from risk.state import RiskState


class Compared(msgspec.Struct, frozen=True, kw_only=True):
    """One order request: the decision the journal holds and the replay's."""

    seq: int
    ts: float
    bot_id: str
    request_id: str
    symbol: str
    side: str
    qty: float
    price: float
    old: Decision
    new: Decision
    by_kernel: bool = False
    """Kept as it was: denied by the gateway or the watchdog without the engine, or made
    in a fleet while a bot's ledger was still in a save not reached (``Ledgers.unknown``)."""

    @property
    def flipped(self) -> bool:
        return self.old.verdict != self.new.verdict


class Trip(msgspec.Struct, frozen=True, kw_only=True):
    """A limit the replayed engine tripped."""

    seq: int
    ts: float
    code: str
    reason: str
    value: Decimal
    limit: Decimal
    action: str
    bot_id: str = ""
    """In a fleet, the bot whose engine tripped it ("": the one engine's)."""


class Rerun(msgspec.Struct, frozen=True, kw_only=True):
    """What one replay saw: every compared request, the trips, and the ledger's equity
    after each heartbeat (from the journaled fills and marks), from ``since`` on."""

    rows: list[Compared]
    trips: list[Trip]
    equity: list[tuple[float, Decimal]]
    """In a fleet, the bots' summed equity, once every bot's is known."""
    state: RiskState | None
    orphans: int = 0
    """Decisions whose request row was not found (left out of the comparison)."""
    states: dict[str, RiskState] = {}
    """In a fleet, each bot's replayed ledger at the end (empty: one engine's journal)."""
    marks: list[tuple[float, str, Decimal]] = []
    """In a fleet, each bot's equity after each of its heartbeats: (time, bot, equity)."""
    coupled: bool = False
    """In a fleet with portfolio limits: a flip of one bot leaves every bot approximate."""


def rerun(rows: Iterable[Row], limits: RiskLimits, *, since: float = float("-inf"),
          tick_s: float = 1.0, multiplier: float | None = None,
          fleet: Fleet | None = None) -> Rerun:
    """Feed ``rows`` (journal order) through the engine configured by ``limits``;
    compare and record only what happens at or after ``since`` (earlier rows bring
    the state from its last save up to the start of the window). ``multiplier``:
    the risk multiplier held at that value throughout (requests to change it are
    left out), as a moderator's cut would have held it. ``fleet``: the journal is a
    fleet's, one ledger per bot under its own limits and the portfolio's."""
    loop = _Loop(Ledgers(limits, fleet), since, tick_s)
    loop.multiplier = multiplier
    for row in rows:
        loop.take(row)
    loop.flush(len(loop.queue))
    one = fleet is None
    return Rerun(rows=loop.compared, trips=loop.trips, equity=loop.equity,
                 state=loop.states.get(ONE) if one else None, orphans=loop.orphans,
                 states={} if one else loop.states, marks=loop.marks,
                 coupled=loop.books.checked)


class _Loop:
    """The replay's gate: a state per ledger, the requests awaiting their decision row."""

    def __init__(self, books: Ledgers, since: float, tick_s: float) -> None:
        self.books, self.since, self.tick_s = books, since, tick_s
        self.states: dict[str, RiskState] = {}
        self.pending: dict[str, tuple[float, OrderRequest]] = {}
        self.compared: list[Compared] = []
        self.trips: list[Trip] = []
        self.equity: list[tuple[float, Decimal]] = []
        self.marks: list[tuple[float, str, Decimal]] = []
        self.checked: dict[str, float] = {}
        self.orphans = 0
        self.queue: list[Row] = []
        self.hold = 0
        self.hold_bot = ""
        self.multiplier: float | None = None

    def take(self, row: Row) -> None:
        fact = row.fact
        if isinstance(fact, OrderRequest):
            self.pending[fact.request_id] = (row.ts, fact)
        elif isinstance(fact, (Heartbeat, Fill, OrderUpdate)):
            self.queue.append(row)  # the engine takes them from the bus: maybe later
        elif isinstance(fact, Ahead):
            self.hold, self.hold_bot = fact.facts, fact.bot_id
        elif isinstance(fact, Loaded):  # no flush: a save is no fact of the engine's inbox
            self.books.loaded(fact.bot_id)
        elif isinstance(fact, OrderDecision):
            self._flush_taken()  # what the engine had taken by then
            self.hold, self.hold_bot = 0, ""
            self._tick(row.ts)
            self._decide(row, fact)
        else:
            self.flush(len(self.queue))
            if isinstance(fact, Based):
                key = self.books.key(fact.bot_id)
                self.checked[key] = row.ts
                self.states[key] = self._held(fact.state)
                self.books.loaded(key)
            elif isinstance(fact, Restarted):
                for key in self.books.restarted(self.states):
                    self.states[key] = self._held(self.books.restored(self.states, key, row.ts))
            elif isinstance(fact, MultiplierAsked) and self.multiplier is not None:
                return  # held at the replayed value
            else:
                self._tick(row.ts)
                for key in self.books.targets(getattr(fact, "bot_id", ""), self.states):
                    self._after(row, key, self._apply(fact, key, row.ts))

    def _flush_taken(self) -> None:
        """Apply the queued facts the deciding engine had taken: all but the last
        ``hold``, or in a fleet all but the last ``hold`` of the ordering bot's own
        (the other bots' facts went to their own engines, never held for this one)."""
        if not self.hold_bot:
            self.flush(len(self.queue) - self.hold)
            return
        mine = [i for i, row in enumerate(self.queue)
                if getattr(row.fact, "bot_id", "") == self.hold_bot]
        held = set(mine[len(mine) - self.hold:]) if self.hold > 0 else set()
        kept, self.queue = self.queue, [row for i, row in enumerate(self.queue) if i in held]
        for i, row in enumerate(kept):
            if i not in held:
                self._fact(row)

    def flush(self, count: int) -> None:
        """Apply the first ``count`` queued facts, in journal order."""
        taken, self.queue = self.queue[:max(0, count)], self.queue[max(0, count):]
        for row in taken:
            self._fact(row)

    def _fact(self, row: Row) -> None:
        """A heartbeat, fill or update, applied to its bot's ledger (the one engine's)."""
        self._tick(row.ts)
        key = self.books.ledger(getattr(row.fact, "bot_id", ""), self.states)
        if key is not None:
            self._after(row, key, self._apply(row.fact, key, row.ts))

    def _tick(self, ts: float) -> None:
        """The live timer runs ``check_limits`` every tick, with no fact needed; in a
        fleet each bot's engine then halts its bot for a portfolio loss reached."""
        for key, state in list(self.states.items()):
            if ts - self.checked.get(key, float("-inf")) < self.tick_s:
                continue
            self.checked[key] = ts
            limits = self.books.limits(key)
            self.states[key], events = check_limits(state, limits, ts)
            for step in self.books.halts(self.states, key, ts):
                self.states[key], more = step
                events = [*events, *more]
            if ts >= self.since:
                self.trips.extend(_trips(ts, events, bot_id=key))

    def _held(self, state: RiskState) -> RiskState:
        held = self.multiplier  # held all along: no adviser's cut ends to lift it back
        return state if held is None else msgspec.structs.replace(
            state, risk_multiplier=held, multiplier_base=None)

    def _apply(self, fact: Fact, key: str, ts: float) -> Step:
        limits, state = self.books.limits(key), self.states[key]
        match fact:
            case Heartbeat():
                return apply_heartbeat(state, fact, limits, ts)
            case Fill():
                return apply_fill(state, fact, limits, ts)
            case OrderUpdate():
                return apply_order_update(state, fact, ts)
            case Halted():
                return halt(state, fact.reason, ts, code=fact.code, by=fact.by)
            case Resumed():
                return _answered(state, operator_resume(state, fact.reason, limits, ts,
                                                        confirmed=fact.confirmed))
            case MultiplierAsked():
                return _answered(state, multiplier_request(
                    state, fact.value, requested_by=fact.requested_by, reason=fact.reason,
                    limits=limits, now=ts))
        return state, []

    def _after(self, row: Row, key: str, step: Step) -> None:
        state, events = step
        self.states[key] = state
        if isinstance(row.fact, Heartbeat):
            self.checked[key] = row.ts
            if state.equity is not None and row.ts >= self.since:
                self._equity(row.ts, key, state.equity)
        elif isinstance(row.fact, Fill):
            self.checked[key] = row.ts
        if events and row.ts >= self.since:
            self.trips.extend(_trips(row.ts, events, row.seq, key))

    def _equity(self, ts: float, key: str, equity: Decimal) -> None:
        if self.books.fleet is None:
            self.equity.append((ts, equity))
            return
        self.marks.append((ts, key, equity))
        known = [s.equity for s in self.states.values()]
        if all(e is not None for e in known):  # the sum once every bot's equity is known
            self.equity.append((ts, sum((e for e in known if e is not None), ZERO)))

    def _decide(self, row: Row, live: OrderDecision) -> None:
        asked = self.pending.pop(live.request_id, None)
        if asked is None:
            self.orphans += row.ts >= self.since
            return
        ts, order = asked
        key = self.books.key(order.bot_id)
        old = Decision(live.verdict, live.code, live.reason)  # type: ignore[arg-type]
        state = self.states.get(key)
        kept = live.code in KERNEL_CODES or state is None
        if kept or state is None:  # (``state is None`` again, for the type checker)
            new = old
        elif self.books.unknown(self.states):  # the sums over the bots: not to be had
            new, kept = old, True
            self.states[key] = apply_decision(state, order, old, self.books.limits(key), ts)
        else:
            new, self.states[key] = decide(order, state, self.books.limits(key), ts,
                                           self.books.veto(self.states, order.bot_id))
            new = self.books.scoped(new, order.bot_id)
        if ts >= self.since:
            self.compared.append(Compared(
                seq=row.seq, ts=ts, bot_id=order.bot_id, request_id=order.request_id,
                symbol=order.symbol, side=order.side, qty=order.qty, price=order.price,
                old=old, new=new, by_kernel=kept))


def _answered(state: RiskState, answer: Step | Refused) -> Step:
    """A refused request changes nothing, as live (the refusal is not a trip)."""
    return (state, []) if isinstance(answer, Refused) else answer


def _trips(ts: float, events: list[RiskEvent], seq: int = 0, bot_id: str = "") -> list[Trip]:
    return [Trip(seq=seq, ts=ts, code=e.code, reason=e.reason, value=e.value, limit=e.limit,
                 action=e.action, bot_id=bot_id) for e in events if isinstance(e, LimitTripped)]
