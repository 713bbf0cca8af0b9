"""The replay's ledgers: one for the account, or one per bot of a fleet and the portfolio.

A fleet's gate (``agents.risk.fleet``) gives every bot its own engine: its own
ledger, its own limits (``risk.yaml`` with the bot's overrides under ``bots:``),
and above them the portfolio's veto and halts (``risk.portfolio``). A replay of a
fleet's journal does the same with the same pure functions: each bot's orders are
decided by ``decide`` on that bot's replayed state and limits, with
``check_portfolio`` over every bot's replayed state as the veto, and each bot's
timer halts it for a portfolio loss reached in a scope it is in.

A journal of one engine (``fleet`` None) keeps one ledger under the key ``""``,
whatever bot ids its rows carry, exactly as that engine did.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from risk.breakers import trip
from risk.decision import Decision
from risk.engine import Veto
from risk.lifecycle import Step, after_restart, initial_state
from risk.limits import RiskLimits
from risk.portfolio import HALTS, Exposure, Member, all_scopes, check_portfolio, readings
from risk.rules import OrderContext
from risk.scope_words import halt_text, scoped, unloaded
from risk.state import RiskState

ONE = ""
"""The key of the one ledger of a journal written by one engine."""


class Fleet(msgspec.Struct, frozen=True, kw_only=True):
    """The bots a fleet's journal was written by."""

    accounts: dict[str, str]
    """Bot id -> account (``paths.yaml`` ``bots:``), in the fleet's order."""
    based: frozenset[str] = frozenset()
    """Bots that start from a save of their own engine: each has no ledger until its
    ``Based`` row, and a restart before it is not theirs to replay (the save holds it)."""


class Ledgers:
    """Which ledger a fact moves, the limits it is held to, and the portfolio's part."""

    def __init__(self, limits: RiskLimits, fleet: Fleet | None) -> None:
        self.fleet = fleet
        self.portfolio = limits.portfolio
        self.checked = fleet is not None and any(
            getattr(limits.portfolio, f) is not None for f in limits.portfolio.__struct_fields__)
        """Any portfolio limit set: the bots' decisions depend on each other's ledgers."""
        bots = fleet.accounts if fleet is not None else {}
        self._limits = {ONE: limits} | {b: limits.for_bot(b) for b in bots}
        self.unloaded: set[str] = set()
        """Bots whose engines have not restored their ledgers since the last start."""

    def restarted(self, states: Mapping[str, RiskState]) -> list[str]:
        """A kernel start: the ledgers it restores (or begins, on a first start); in a
        fleet every bot's is being restored until its engine saves."""
        if self.fleet is None:
            return [ONE]
        self.unloaded = set(self.fleet.accounts)
        return [b for b in self.fleet.accounts if b in states or b not in self.fleet.based]

    def restored(self, states: Mapping[str, RiskState], key: str, now: float) -> RiskState:
        """The ledger ``key`` after a start, as its engine restores it."""
        limits, state = self.limits(key), states.get(key)
        return initial_state(limits, now) if state is None else after_restart(
            state, limits, now)[0]

    def loaded(self, bot_id: str) -> None:
        self.unloaded.discard(bot_id)

    def key(self, bot_id: str) -> str:
        return bot_id if self.fleet is not None else ONE

    def limits(self, key: str) -> RiskLimits:
        return self._limits.get(key) or self._limits[ONE]

    def ledger(self, bot_id: str, states: Mapping[str, RiskState]) -> str | None:
        """The ledger a bot's heartbeat, fill or update moves (None: none yet)."""
        key = self.key(bot_id)
        return key if key in states else None

    def targets(self, bot_id: str, states: Mapping[str, RiskState]) -> list[str]:
        """The ledgers a fact of ``bot_id`` moves: its own; "" in a fleet, every bot's
        (an operator's command without ``--bot``, the one-bot shorthand's halt)."""
        if self.fleet is None:
            return [ONE] if ONE in states else []
        if bot_id:
            return [bot_id] if bot_id in states else []
        return list(states)

    def unknown(self, states: Mapping[str, RiskState]) -> bool:
        """With portfolio limits, a bot's ledger is still in its save, not reached yet (each
        bot starts from its own, at its own time): the sums across bots are not known, so
        its orders keep their live decisions and no portfolio halt is worked out."""
        return self.checked and self.fleet is not None and any(
            b not in states for b in self.fleet.based)

    def veto(self, states: Mapping[str, RiskState], bot_id: str) -> Veto | None:
        """The portfolio's answer to an order its bot's own limits allow, as the fleet's
        gate gives it (``FleetGate.veto``), over the bots' replayed ledgers."""
        if not self.checked:
            return None
        if self.unloaded:
            return lambda ctx: unloaded(sorted(self.unloaded))
        members = self._members(states)
        limits = self.portfolio

        def check(ctx: OrderContext) -> Decision | None:
            gross, notional = ctx.__dict__["exposure_after"]
            return check_portfolio(members, bot_id, ctx.order.symbol,
                                   Exposure(gross, notional), limits)
        return check

    def scoped(self, decision: Decision, bot_id: str) -> Decision:
        """A fleet engine's DENY names its scope: ``bot:ID`` unless the portfolio's."""
        return decision if self.fleet is None else scoped(decision, bot_id)

    def halts(self, states: Mapping[str, RiskState], bot_id: str, now: float) -> Iterator[Step]:
        """The bot's timer in a fleet: a portfolio loss or drawdown reached in a scope the
        bot is in halts it, as its engine's tick does (``RiskEngine._fleet_tick``)."""
        if not self.checked or self.unknown(states):
            return
        members = self._members(states)
        mine = {scope for scope, group in all_scopes(members)
                if any(m.bot_id == bot_id for m in group)}
        state = states[bot_id]
        for reading in readings(members, self.portfolio):
            if reading.code in HALTS and reading.scope in mine and reading.reached:
                text = halt_text(reading.text, reading.scope)
                step = trip(state, reading.code, text, reading.value, reading.limit,
                            self.limits(bot_id), now)
                state = step[0]
                yield step

    def _members(self, states: Mapping[str, RiskState]) -> list[Member]:
        assert self.fleet is not None
        return [Member(b, a, states[b]) for b, a in self.fleet.accounts.items() if b in states]

