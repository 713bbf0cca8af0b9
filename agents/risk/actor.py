"""The risk engine actor: the kernel's order gate and the keeper of the risk state.

A thin shell over the pure rules in ``risk/``. It holds the one current
:class:`~risk.RiskState`, answers the gateway's synchronous ``decide`` with the
pure ``decide`` and nothing more (no I/O on the hot path: the gateway journals
the decision), turns heartbeats, fills, operator commands and the watchdog's halt
requests into the pure transitions, and runs ``check_limits`` on a timer because
the ``close_all`` deadline and midnight pass with no message arriving.

State survives restarts through :mod:`agents.risk._store`: saved when a durable
fact changes, restored with ``after_restart`` so that a halted day stays halted
and the daily loss does not reset. The rule (:meth:`RiskEngine._save_if_due`):
save at once, before any news of it, whatever raised an event or moved what the
journal cannot rebuild; save at most every ``save_every_s`` what fills, order
updates and decisions alone moved, since a restart replays their ``order.*`` rows
(one save per fill held the loop under a flood of fills). Each save names the newest
fact it holds, so the replay also finds a fill or update journaled before the save's
row but still on its way to the engine (``RiskStore.unseen_facts``).

Until :meth:`RiskEngine.start` has restored it the gateway's ``ClosedGate``
denies every order, and :meth:`RiskEngine.stop` withdraws the gate first, so a
crashing or restarting engine fails closed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

import msgspec

from agents.risk._answers import REFUSED_MULTIPLIER, answer_to
from agents.risk._restore import restore
from agents.risk._save_rule import SaveRule
from agents.risk._store import RiskStore
from agents.risk._taken import Arrival, TakenFacts
from agents.risk._tracked import TrackedState
from agents.risk.shadow import DeferredShadow, Shadow, journal_entry
from agents.risk.slice import RiskSlice
from agents.watchdog.messages import TradingHaltRequested
from bus.protocol import (
    Command,
    Fill,
    Heartbeat,
    Message,
    OrderDecision,
    OrderRequest,
    OrderUpdate,
    TradingState,
)
from kernel.actor import Actor, ActorContext
from kernel.events import OperatorCommandIssued, OperatorCommandTaken, RiskMultiplierChangeRequested
from kernel.gate import Fact, MultiplierNote
from kernel.slots import until_slot
from risk import (
    RiskLimits,
    RiskState,
    Step,
    apply_fill,
    apply_heartbeat,
    apply_order_update,
    check_limits,
    decide,
    halt,
    order_decision,
    snapshot,
    take_marks,
)
from risk.breakers import trip
from risk.measures import loss_measures
from risk.messages import (
    CloseAllRequested,
    LimitWarning,
    OperatorCommandRefused,
    ReasonView,
    RiskAnomalyDetected,
    RiskMultiplierChanged,
    RiskStateSnapshot,
    ShadowDecisionDiffered,
    TradingStateChanged,
)
from risk.multiplier import setting, until
from risk.portfolio import WARN_AT, Reading
from risk.reasons import for_bot
from risk.requests import Refused, multiplier_request, operator_resume
from risk.scope_words import halt_text, scoped

log = logging.getLogger("agents.risk")


class RiskEngine(TrackedState, Actor):
    """See the module docstring. Timings are keyword options so tests can shorten them."""

    name: ClassVar[str] = "risk"
    kept_topics: ClassVar[tuple[str, ...]] = (  # no bot's flood may cost a halt
        "operator.command", "risk.halt_request", "risk.multiplier_request")
    subscriptions: ClassVar[tuple[str, ...]] = (
        "bot.heartbeat", "order.fill", "order.update", *kept_topics)

    _limits: RiskLimits
    _store: RiskStore

    def __init__(self, *, config: RiskSlice, tick_s: float = 1.0, publish_every_s: float = 5.0,
                 save_every_s: float = 5.0, refresh_every_s: float = 600.0,
                 tick_phase: float | None = None) -> None:
        """``tick_phase``: in a fleet, where in each ``tick_s`` this engine ticks (0 to 1, spread:
        docs/fleet.md; the first ``tick_s`` after start at least); None: ``tick_s`` on."""
        super().__init__()
        self._limits = config.limits
        self._bot_id = config.bot_id
        self._fleet = config.fleet
        self._warned: set[tuple[str, str]] = set()  # (day, code) warned of at 80 %
        self._shadow = (DeferredShadow(Shadow(config.shadow), self._journal_shadow)
                        if config.shadow is not None else None)
        self._tick_s, self._tick_phase = tick_s, tick_phase
        self._publish_every_s = publish_every_s
        self._save_rule = SaveRule(save_every_s=save_every_s, refresh_every_s=refresh_every_s)
        self._resend_close = False
        self._closes_sent = 0
        """Bots the last ``close_all`` reached, for the answer to an operator's close-all."""
        self.facts_taken = 0
        """Heartbeats, fills, updates taken since the fence, on the path or from the bus (for
        ``order.ahead`` rows; a fact is offered only when none is behind: ``FactCounter``)."""
        self.facts_epoch = 0
        """Bumped when the count starts over at a new fence (:meth:`frames_dropped`)."""
        self._taken = TakenFacts()

    @property
    def facts_queued(self) -> int:
        """Facts before the fence still on their way (``TakenFacts.queued``)."""
        return self._taken.queued

    @property
    def state(self) -> RiskState:
        """The current risk state (read-only: every change goes through the rules)."""
        return self._current

    # --- the order gate (called synchronously by the gateway) -------------------------

    @property
    def trading_state(self) -> TradingState:
        return self._current.trading_state

    @property
    def risk_multiplier(self) -> float:
        return self._current.risk_multiplier

    @property
    def risk_multiplier_note(self) -> MultiplierNote:
        """Who set the multiplier, why and until when, for the bot's ``welcome``."""
        state, limits = self._current, self._limits
        who = setting(state, limits)
        return MultiplierNote(by=who.by, reason=who.reason, until=until(state, limits))

    def decide(self, order: OrderRequest, now: float) -> OrderDecision:
        """The pure decision and the state it leaves; the pure core never raises. In a
        fleet the portfolio has a veto, and a DENY names its scope (``bot:ID``)."""
        judged, fleet = self._current, self._fleet
        if fleet is None:
            decision, self._state = decide(order, judged, self._limits, now)
        else:
            decision, self._state = decide(order, judged, self._limits, now,
                                           lambda ctx: fleet.veto(self._bot_id, ctx))
            decision = scoped(decision, self._bot_id)
        if self._shadow is not None:  # evidence, judged after the reply is sent
            try:
                self._shadow.queue(order, judged, decision, now)
            except Exception:  # the shadow may fail; the decision made stands regardless
                log.exception("shadow limits failed on %s", order.request_id)
        return order_decision(order, decision, self._current.trading_state, now)

    def _journal_shadow(self, row: ShadowDecisionDiffered) -> None:
        self.ctx.journal.append(journal_entry(row, self.name))

    def take_fact(self, fact: Fact, now: float) -> bool:
        """A fact on the gateway's path (``kernel.gate.FactTaker``), at its row's time:
        applied only when the pure result is the whole of what the bus turn would do
        (no events to save and publish first, no close to ask again)."""
        if not self._taken.may_take(fact):
            return False
        match fact:
            case Heartbeat():
                if self._resend_close:
                    return False
                state, events = apply_heartbeat(self._current, fact, self._limits, now)
            case Fill():
                state, events = apply_fill(self._current, fact, self._limits, now)
            case OrderUpdate():
                state, events = apply_order_update(self._current, fact, now)
        if events:
            return False
        self._state = state
        self._taken.took(fact)
        self.facts_taken += 1
        return True

    def frames_dropped(self, dropped: int) -> None:
        """Frames were dropped from this engine's inbox: had a fact's copy been among
        them the gateway's count would stay ahead of the engine's, and no fact would be
        taken on the path again. The count starts over at a new fence instead. Copies
        dropped are known by the copies and the fence after them (``TakenFacts``)."""
        self._taken.refence()
        self.facts_epoch += 1
        log.warning("risk engine inbox dropped frames (%d in all): facts are counted "
                    "again from a new fence", dropped)

    def take_marks(self, heartbeat: Heartbeat, now: float) -> None:
        """A link's first heartbeat, handed over by the gateway before its next order
        is decided (the whole heartbeat follows on the bus)."""
        self._state = take_marks(self._current, heartbeat)

    # --- lifecycle ------------------------------------------------------------------

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        self._store = RiskStore(ctx.journal, source=ctx.name, clock=ctx.clock,
                                bot_id=self._bot_id)
        now = ctx.clock()
        self._state, events, self._resend_close, replayed = await restore(
            self._store, self._limits, now)
        self._taken.restart(replayed, spare=ctx.spare_copy)
        for message in await self._settle(events, now, force_save=True):
            ctx.publish(message)
        self._taken.count_queued(ctx.inbox(), lambda fact: not self._not_mine(fact))
        self._open_gate()
        log.info("risk engine ready: trading %s (%s)", self._current.trading_state,
                 "; ".join(r.text for r in self._current.reasons) or "no reasons")

    async def stop(self) -> None:
        """Close the gate before anything else, then keep the last state (best effort)."""
        if self._ctx is None:
            return
        if self._fleet is not None:
            self._fleet.detach(self._bot_id, self)
        else:
            self.ctx.services.set_gate(None)
        if self._shadow is not None:  # the last orders' rows, before the journal closes
            self._shadow.flush()
        if hasattr(self, "_state"):
            try:
                await self._save_if_due(self.ctx.clock(), force=True)
            except Exception as exc:  # the journal may be failing: the last save stands
                log.error("risk state not saved on stop: %s", exc)

    async def run(self) -> None:
        """The timer: deadlines and the day rollover, and a periodic snapshot for people."""
        next_publish = 0.0
        loop, phase = asyncio.get_running_loop(), self._tick_phase
        if phase is not None:  # the first tick never sooner than tick_s after start
            await asyncio.sleep(self._tick_s)
        while True:
            await asyncio.sleep(self._tick_s if phase is None
                                else until_slot(loop.time(), self._tick_s, phase))
            now = self.ctx.clock()
            self._state, events = check_limits(self._current, self._limits, now)
            more = self._fleet_tick(now) if self._fleet is not None else []
            out = await self._settle([*events, *more], now)
            if not out and now >= next_publish:
                out = [self._snapshot(now)]
            if out:
                next_publish = now + self._publish_every_s
            for message in out:
                self.ctx.publish(message)

    # --- messages -------------------------------------------------------------------

    def _fleet_tick(self, now: float) -> list[Message]:
        """In a fleet: halt for a portfolio loss reached in this bot's scopes, and warn at
        80 % of a limit, the bot's own (``bot:ID``) and the portfolio's."""
        assert self._fleet is not None
        out: list[Message] = []
        for reading in self._fleet.tripped(self._bot_id):
            text = halt_text(reading.text, reading.scope)
            self._state, events = trip(self._current, reading.code, text, reading.value,
                                       reading.limit, self._limits, now)
            out += events
        fresh = self._fleet.new_warnings(self._current.day)
        for measure in loss_measures(self._current, self._limits):
            key = (self._current.day, measure.code)
            if not measure.breached and measure.value >= WARN_AT * measure.limit \
                    and key not in self._warned:
                self._warned = {k for k in self._warned if k[0] == key[0]}  # today's only
                self._warned.add(key)
                fresh.append(Reading(f"bot:{self._bot_id}", measure.code, measure.value,
                                     measure.limit, f"bot:{self._bot_id}: {measure.label}"))
        out += [LimitWarning(scope=r.scope, code=r.code, value=r.value, limit=r.limit,
                             ratio=(r.value / r.limit).quantize(Decimal("0.01")),
                             text=r.text, ts=now) for r in fresh]
        return out

    def _open_gate(self) -> None:
        """Take the orders: as the gate itself, or as one bot's engine in the fleet's."""
        if self._fleet is None:
            self.ctx.services.set_gate(self)
            return
        self._fleet.attach(self._bot_id, self)
        self.ctx.services.set_gate(self._fleet)

    def _snapshot(self, now: float) -> RiskStateSnapshot:
        view = snapshot(self._current, self._limits, now)
        if self._shadow is not None:  # counts that include every order decided so far
            self._shadow.flush()
            view = self._shadow.shadow.counted(view)
        if not self._bot_id:
            return view
        return msgspec.structs.replace(view, bot_id=self._bot_id,
                                       reasons=self._own_way_out(view.reasons))

    def _own_way_out(self, reasons: tuple[ReasonView, ...]) -> tuple[ReasonView, ...]:
        """A fleet bot's way out names it: a bare ``kernel resume`` would resume every bot
        (and a bare ``kernel mode`` restart every bot, after the watchdog's halt)."""
        return tuple(msgspec.structs.replace(r, way_out=for_bot(r.way_out, self._bot_id))
                     for r in reasons)

    def bots(self) -> frozenset[str] | None:
        """In a fleet, the kernel hands this engine its own bot's messages only."""
        return frozenset((self._bot_id,)) if self._bot_id else None

    def _not_mine(self, message: Message) -> bool:
        """In a fleet, a bot's facts go to its own engine only; a request without a bot
        id (an operator's, the moderator's) goes to every engine. The kernel's routing
        (:meth:`bots`) already keeps the others' out; this is the net for frames it
        cannot route (from other processes, whose bot is only in the payload)."""
        if not self._bot_id:
            return False
        bot_id = getattr(message, "bot_id", "")
        if isinstance(message, Heartbeat | Fill | OrderUpdate):
            return bool(bot_id) and bot_id != self._bot_id
        return bot_id not in ("", self._bot_id)

    async def handle(self, message: Message) -> Sequence[Message]:
        now = self.ctx.clock()
        if self._not_mine(message):
            return ()
        if isinstance(message, (Heartbeat, Fill, OrderUpdate)):
            arrival = self._taken.arrived(message, as_sent=self.ctx.as_sent)
            if arrival is Arrival.TAKEN:  # applied on the gateway's path: the rest of the turn
                return await self._after_taken(message, now)
            if arrival is Arrival.REPLAYED:  # in the restored state already
                return ()
            self.facts_taken += arrival is Arrival.COUNTED
        match message:
            case Heartbeat():
                self._state, events = apply_heartbeat(self._current, message, self._limits, now)
                self._resend_pending_close()
            case Fill():
                self._state, events = apply_fill(self._current, message, self._limits, now)
            case OrderUpdate():  # one per order: only reservations move, the timer saves them
                self._state, events = apply_order_update(self._current, message, now)
                if not events:
                    return ()
            case OperatorCommandIssued() | RiskMultiplierChangeRequested():
                return await self._on_request(message, now)
            case TradingHaltRequested():
                self._state, events = halt(
                    self._current, f"{message.reason} (asked by {message.source})", now,
                    code=message.code, by="watchdog")
                self._open_gate()  # halted, yet reduce-only orders pass again
            case _:
                return ()
        return await self._settle(events, now, replayable=self._replayable_fill(message))

    def _replayable_fill(self, message: Message) -> bool:
        """A fill that ``risk.replay`` would book again after a restart: any of this
        bot's (the store replays this bot's fills only), taken on the path or over the
        bus, since a save names the newest fact it holds and the replay starts there."""
        return isinstance(message, Fill) and (not self._bot_id or message.bot_id == self._bot_id)

    async def _after_taken(self, fact: Fact, now: float) -> Sequence[Message]:
        """What the bus turn on ``fact`` does besides applying it (it had no events). A
        heartbeat taken on the path moved no ledger (adopting the bot's positions changes
        the reconciliation step, saved at once); fills taken on the path after it, whose
        copies are still queued, may have: replayable, as those fills are."""
        if isinstance(fact, OrderUpdate):
            return ()
        if isinstance(fact, Heartbeat):  # marks only: no snapshot unless it saved
            self._resend_pending_close()
            return [self._snapshot(now)] if await self._save_if_due(now, replayable=True) else ()
        return await self._settle((), now, replayable=self._replayable_fill(fact))

    async def _on_request(self, request: OperatorCommandIssued | RiskMultiplierChangeRequested,
                          now: float) -> Sequence[Message]:
        """Carry out or refuse a request, save, and answer one that carries a
        ``request_id`` (the operator waits for it) once all it caused is journaled."""
        self._closes_sent = 0
        self._state, events = (self._on_operator(request, now) if isinstance(
            request, OperatorCommandIssued) else self._on_multiplier(request, now))
        if request.request_id:  # queued in this same step: where a replay takes it
            self.ctx.publish(OperatorCommandTaken(request_id=request.request_id, ts=now))
        out = await self._settle(events, now, force_save=bool(events))
        if not request.request_id:
            return out
        for message in out:
            self.ctx.publish(message)
        await self.ctx.publish_durable(answer_to(request, events, self._current, now,
                                                 closes_sent=self._closes_sent))
        return ()

    def _on_multiplier(self, request: RiskMultiplierChangeRequested, now: float) -> Step:
        """Carry out :func:`risk.requests.multiplier_request`, or journal why not (the bot is
        told the new value by :meth:`_tell_multiplier`, once the state is saved)."""
        answer = multiplier_request(self._current, request.value, requested_by=request.requested_by,
                                    reason=request.reason, limits=self._limits, now=now)
        if isinstance(answer, Refused):
            log.warning("risk multiplier change refused: %s", answer.reason)
            return self._current, [RiskAnomalyDetected(kind=REFUSED_MULTIPLIER,
                                                     detail=answer.reason, ts=now)]
        return answer

    def _tell_multiplier(self, event: RiskMultiplierChanged) -> None:
        """The bot sizes its orders by the multiplier too: every change reaches it, the
        end of an adviser's cut at the day rollover included, with who and why."""
        command = Command(command_id=f"risk-{uuid.uuid4().hex[:16]}",
                          action="set_risk_multiplier",
                          params={"risk_multiplier": event.current, "by": event.by[:200],
                                  "reason": event.reason[:1000], "until": event.until[:200]})
        self.ctx.services.send_command(command, bot_id=self._bot_id)
        self.ctx.publish(command)

    def _on_operator(self, command: OperatorCommandIssued, now: float) -> Step:
        who = f"{command.reason} (by {command.user})"
        state = self._current
        match command.action:
            case "halt":
                return halt(state, who, now)
            case "close_all":
                self._close_all(f"operator {command.user}: {command.reason}")
                return halt(state, f"close all: {who}", now)
            case "resume":
                answer = operator_resume(state, who, self._limits, now,
                                         confirmed=command.confirmed)
                if isinstance(answer, Refused):
                    log.warning("resume by %s refused: %s", command.user, answer.reason)
                    return state, [OperatorCommandRefused(action="resume", reason=answer.reason,
                                                          user=command.user, ts=now)]
                return answer
        return state, []

    # --- after every transition -------------------------------------------------------

    async def _settle(self, events: Sequence[Message], now: float, *,
                      force_save: bool = False, replayable: bool = False) -> list[Message]:
        """Save first (so the journal has the state before any news of it), carry out
        the close requests, and add a fresh snapshot when anything happened.
        ``replayable``: the change came from a fill the journal replays (it may wait
        for the timer unless it raised an event)."""
        saved = await self._save_if_due(now, force=force_save,
                                        replayable=replayable and not events)
        out = [self._stamped(e) for e in events]
        for event in events:
            if isinstance(event, CloseAllRequested):
                self._close_all(event.reason)
            elif isinstance(event, RiskMultiplierChanged):
                self._tell_multiplier(event)
        if out or saved or replayable:  # a fill booked is news, saved or not
            out.append(self._snapshot(now))
        return out

    def _stamped(self, event: Message) -> Message:
        """A fleet bot's state and multiplier changes name the bot, so a reader (the
        moderator, the Meta-Agent) keys them by bot instead of mixing two bots."""
        if self._bot_id and isinstance(event, TradingStateChanged):
            return msgspec.structs.replace(event, bot_id=self._bot_id,
                                           reasons=self._own_way_out(event.reasons))
        if self._bot_id and isinstance(event, RiskMultiplierChanged):
            return msgspec.structs.replace(event, bot_id=self._bot_id)
        return event

    async def _save_if_due(self, now: float, *, force: bool = False,
                           replayable: bool = False) -> bool:
        """Save when :class:`SaveRule` says so (it counts the state saved before the await:
        the timer may race us). A timer's save may first write its orders' slices over
        turns of the loop (``agents.risk._parts``); an urgent one (``SaveRule.urgent``)
        not: its row must precede any decision made on it. The row takes the state now."""
        state = self._current
        if not self._save_rule.due(state, now, force=force, replayable=replayable):
            return False
        if not self._save_rule.urgent:
            await self._store.keep_orders(lambda: self._state)  # turns of its own, or none
        await self._store.save(self._state, self._taken.last)
        return True

    def _resend_pending_close(self) -> None:
        """A close asked for before a restart is asked again once the bot is back."""
        if self._resend_close:
            self._resend_close = False
            if self._current.close_requested_at is not None:
                self._close_all("close_all still unconfirmed from before the kernel restarted")

    def _close_all(self, reason: str) -> None:
        command = Command(command_id=f"risk-{uuid.uuid4().hex[:16]}", action="close_all",
                          params={"reason": reason[:1000]})
        sent = self.ctx.services.send_command(command, bot_id=self._bot_id)
        self._closes_sent += sent
        self.ctx.publish(command)  # journaled: what was sent, and why
        log.warning("close_all sent to %d bot(s): %s", sent, reason)
