"""The order gate of a fleet: each bot's own engine, and the portfolio above them.

In a fleet (``paths.yaml`` ``bots:``) every bot has its own risk engine actor
(``risk.<id>``): its own ledger, limits, halt latch and saved state. The gateway
still has one gate; this is it. It hands each order to its bot's engine, which
decides it with the portfolio's check as a veto (``risk.portfolio``): an order is
allowed only when its bot's limits and every portfolio scope it is in hold.

Fail closed: an order of a bot whose engine is not running is denied, and while
any configured bot's ledger is not loaded no opening order is allowed at all when
portfolio limits are set, since the sums across bots would leave it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from bus.protocol import Heartbeat, OrderDecision, OrderRequest, TradingState, make_decision
from kernel.gate import ClosedGate, Fact, FactCounter, MultiplierNote, OrderGate
from risk.decision import Decision
from risk.limits import PortfolioLimits
from risk.money import ZERO
from risk.portfolio import (
    HALTS,
    WARN_AT,
    Exposure,
    Member,
    Reading,
    Sums,
    all_scopes,
    check_exposures,
    check_losses,
    scope_readings,
    scopes,
    sums,
)
from risk.rules import OrderContext
from risk.scope_words import unloaded
from risk.tally import Tally

if TYPE_CHECKING:
    from agents.risk.actor import RiskEngine

_WORST: dict[TradingState, int] = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


class FleetGate:
    """See the module docstring; built once per kernel by the composition root."""

    def __init__(self, *, accounts: Mapping[str, str], limits: PortfolioLimits) -> None:
        self.accounts = dict(accounts)
        """Bot id -> account, every configured bot."""
        self.limits = limits
        self._engines: dict[str, RiskEngine] = {}
        self._tallies: dict[str, Tally] = {}
        """Scope -> the running totals of its bots' figures (``risk.tally``), its bots in
        the order of ``_members``; worked out again when an engine is attached or detached."""
        self._rosters: dict[str, list[tuple[str, Tally]]] = {}
        """Bot id -> the scopes its orders are checked in, with their totals."""
        self._watching: dict[str, list[Tally]] = {}
        """Bot id -> the totals told when its engine's state changes (:meth:`moved`)."""
        self._losses: dict[str, tuple[Decimal, Decimal, Decimal, PortfolioLimits,
                                      Decision | None]] = {}
        """Scope -> the last ledger sums its loss limits were checked on, and the answer."""
        self._scopes: list[tuple[str, list[str]]] | None = None
        """Every scope with its bots' ids (:meth:`_layout`)."""
        self._checked = any(getattr(limits, f) is not None for f in limits.__struct_fields__)
        self._warned: set[tuple[str, str, str]] = set()
        """(day, scope, code) already warned of: each warning is said once a day."""

    def attach(self, bot_id: str, engine: RiskEngine) -> None:
        """A bot's engine has its state restored: its orders are decided from now on."""
        self._engines[bot_id] = engine
        self._forget()

    def detach(self, bot_id: str, engine: RiskEngine) -> None:
        """A bot's engine stops: its orders are denied until it is back (fail closed)."""
        if self._engines.get(bot_id) is engine:
            del self._engines[bot_id]
            self._forget()

    def _forget(self) -> None:
        """The bots whose engines run changed: who is in which scope is worked out again."""
        self._tallies.clear()
        self._rosters.clear()
        self._watching.clear()
        self._scopes = None

    def engines(self) -> dict[str, RiskEngine]:
        return dict(self._engines)

    def moved(self, bot_id: str) -> None:
        """``bot_id``'s engine has a new state: the totals it is in take it in at their
        next use, and look at no other engine's (an identity check per engine per order
        was some 4 % of the loop's time in a fleet of 20; docs/perf/gate-stages.md)."""
        for tally in self._watching.get(bot_id, ()):
            tally.moved(bot_id)

    # --- the OrderGate protocol ---------------------------------------------------------

    @property
    def trading_state(self) -> TradingState:
        """The worst of the bots' (a bot whose engine is down counts as HALTED)."""
        worst: TradingState = "ACTIVE"
        for bot_id in self.accounts:
            engine = self._engines.get(bot_id)
            state: TradingState = "HALTED" if engine is None else engine.trading_state
            if _WORST[state] > _WORST[worst]:
                worst = state
        return worst

    @property
    def risk_multiplier(self) -> float:
        return min((e.risk_multiplier for e in self._engines.values()), default=1.0)

    @property
    def risk_multiplier_note(self) -> MultiplierNote:
        return MultiplierNote()

    def decide(self, order: OrderRequest, now: float) -> OrderDecision:
        engine = self._engines.get(order.bot_id)
        if engine is None:
            return make_decision(
                request_id=order.request_id, verdict="DENY", code="risk_engine_unavailable",
                reason=f"bot:{order.bot_id}: the risk engine of this bot is not running, so "
                "its orders cannot be checked; they are refused until it is",
                trading_state="HALTED", bot_id=order.bot_id, ts=now)
        return engine.decide(order, now)

    def for_bot(self, bot_id: str) -> OrderGate:
        """What ``bot_id``'s welcome says: its own engine's state and multiplier."""
        engine = self._engines.get(bot_id)
        if engine is not None:
            return engine
        return ClosedGate(reason=f"bot:{bot_id}: the risk engine of this bot is not running")

    def counter_of(self, bot_id: str) -> FactCounter | None:
        """``bot_id``'s engine, which counts the facts it took (``kernel.gate``)."""
        return self._engines.get(bot_id)

    def take_fact(self, fact: Fact, now: float) -> bool:
        """A fact on the gateway's path goes to its bot's own engine (which counts it
        among its bot's facts); a bot whose engine is not running leaves it to the bus."""
        engine = self._engines.get(fact.bot_id)
        return engine is not None and engine.take_fact(fact, now)

    def take_marks(self, heartbeat: Heartbeat, now: float) -> None:
        engine = self._engines.get(heartbeat.bot_id)
        if engine is not None:
            engine.take_marks(heartbeat, now)

    # --- the portfolio's veto -------------------------------------------------------------

    def veto(self, bot_id: str, ctx: OrderContext) -> Decision | None:
        """The portfolio's answer to an order its bot's own limits allow."""
        if not self._checked:
            return None
        missing = [] if len(self._engines) == len(self.accounts) else \
            sorted(b for b in self.accounts if b not in self._engines)  # engines <= accounts
        if missing:
            return unloaded(missing)
        gross, notional = ctx.__dict__["exposure_after"]
        after, symbol, limits = Exposure(gross, notional), ctx.order.symbol, self.limits
        for scope, tally in self._roster(bot_id):
            figures = tally.sums(bot_id, symbol, after,
                                 on_symbol=limits.max_notional_per_symbol is not None)
            if figures is None:  # the totals cannot give it to the digit: add them up
                figures = sums([(b, "", self._engines[b].state) for b in tally.bots], symbol,
                               bot_id, after)
            found = self._losses_of(scope, figures, limits)
            if found is None:
                found = check_exposures(scope, figures, symbol, limits)
            if found is not None:
                return found
        return None

    def _losses_of(self, scope: str, figures: Sums, limits: PortfolioLimits) -> Decision | None:
        """``check_losses``, kept while the scope's ledger sums are the very same objects
        (the totals hand the same ones back until a bot's ledger changes)."""
        kept = self._losses.get(scope)
        if kept is not None and kept[0] is figures.start and kept[1] is figures.equity \
                and kept[2] is figures.high and kept[3] is limits:
            return kept[4]
        found = check_losses(scope, figures, limits)
        self._losses[scope] = (figures.start, figures.equity, figures.high, limits, found)
        return found

    def _roster(self, bot_id: str) -> list[tuple[str, Tally]]:
        """``scopes`` of ``bot_id``, each with its running totals."""
        roster = self._rosters.get(bot_id)
        if roster is None:
            roster = self._rosters[bot_id] = [
                (scope, self._tally(scope, [m.bot_id for m in group])) for scope, group in
                scopes(self._members(), bot_id)]
        return roster

    def _tally(self, scope: str, bots: list[str]) -> Tally:
        """A scope's totals, one for every bot in it (an account's, or the portfolio's)."""
        tally = self._tallies.get(scope)
        if tally is None:
            engines = [(b, self._engines[b]) for b in bots]
            told = all(getattr(e, "tells_moves", False) for _, e in engines)
            tally = self._tallies[scope] = Tally(engines, told=told)
            for bot_id in bots if told else ():
                self._watching.setdefault(bot_id, []).append(tally)
        return tally

    def _readings(self) -> list[Reading]:
        """:func:`risk.portfolio.readings`, from each scope's totals."""
        found: list[Reading] = []
        for scope, bots in self._layout():
            figures = self._tally(scope, bots).totals()
            if figures is None:  # as in the veto: added up when the totals cannot serve
                figures = sums([(b, "", self._engines[b].state) for b in bots], "", "",
                               Exposure(ZERO, ZERO))
            found += scope_readings(scope, figures, self.limits)
        return found

    def _layout(self) -> list[tuple[str, list[str]]]:
        """:func:`risk.portfolio.all_scopes` by bot id (the timer's scopes), worked out
        again when an engine is attached or detached."""
        if self._scopes is None:
            self._scopes = [(scope, [m.bot_id for m in group])
                            for scope, group in all_scopes(self._members())]
        return self._scopes

    # --- the timer: halts and warnings of the portfolio's scopes ---------------------------

    def _members(self) -> list[Member]:
        return [Member(b, self.accounts[b], e.state) for b, e in self._engines.items()]

    def tripped(self, bot_id: str) -> list[Reading]:
        """Loss and drawdown limits reached in a scope ``bot_id`` is in: each halts every
        bot of the scope (each engine halts its own bot on its own tick)."""
        if not self._checked:
            return []
        mine = {scope for scope, bots in self._layout() if bot_id in bots}
        return [r for r in self._readings()
                if r.code in HALTS and r.scope in mine and r.reached]

    def new_warnings(self, day: str) -> list[Reading]:
        """Readings at 80 % or more of their limit not yet said today."""
        if not self._checked:
            return []
        fresh = []
        for reading in self._readings():
            key = (day, reading.scope, reading.code)
            if reading.value >= WARN_AT * reading.limit and key not in self._warned:
                self._warned = {k for k in self._warned if k[0] == day}  # today's only
                self._warned.add(key)
                fresh.append(reading)
        return fresh
