"""The planner's book: the latest snapshot and current verdicts, and the plan they make.

Kept apart from the actor so that planning from the book is a plain function
call (the live loop, the bot link's ``plan_request`` and the tests all use it).
A verdict missing from the book (an adapter disabled, or not yet heard) is
computed by the built-in analyzer, so a symbol with a snapshot can always be
planned.
"""

from __future__ import annotations

import msgspec

from agents.planner.llm import PlanInputs
from bus.protocol import Heartbeat, Message
from kernel.bounded import BoundedDict
from kernel.plan_service import PlanUnavailable
from planner.builder import build_plan
from planner.completion import complete_verdicts
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.messages import (
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    TradePlan,
    WildCardVerdict,
)
from planner.parts import Account, Style
from planner.snapshot import AnalysisError

ANY_CLASS = "*"


class PlanAsk(msgspec.Struct, frozen=True, kw_only=True):
    """What a caller may set for one plan; None takes the ``live:`` configuration."""

    style: Style | None = None
    account_size: float | None = None
    risk_pct: float | None = None


SYMBOLS_MAX = 1024
"""Symbols (asset classes) an input is kept for; bots name symbols, so the least
recently written is dropped beyond this many (a plan for it waits for fresh inputs)."""

class VerdictBook:
    """Latest inputs by symbol (Macro by asset class) and the bot's latest equity."""

    def __init__(self) -> None:
        self.snapshots: BoundedDict[str, MarketSnapshot] = BoundedDict(SYMBOLS_MAX)
        self.technical: BoundedDict[str, TechnicalVerdict] = BoundedDict(SYMBOLS_MAX)
        self.wildcard: BoundedDict[str, WildCardVerdict] = BoundedDict(SYMBOLS_MAX)
        self.macro: BoundedDict[str, MacroVerdict] = BoundedDict(SYMBOLS_MAX)
        self.equity: float | None = None

    def update(self, message: Message) -> set[str]:
        """Record one message; return the symbols whose plan it may change."""
        match message:
            case MarketSnapshot(symbol=symbol):
                self.snapshots[symbol] = message
                return {symbol}
            case TechnicalVerdict(symbol=symbol):
                self.technical[symbol] = message
                return {symbol}
            case WildCardVerdict(symbol=symbol):
                self.wildcard[symbol] = message
                return {symbol}
            case MacroVerdict(asset_class=asset_class):
                self.macro[asset_class or ANY_CLASS] = message
                return {s for s, snap in self.snapshots.items()
                        if asset_class is None or snap.asset_class == asset_class}
            case Heartbeat(equity=equity):
                self.equity = equity
        return set()

    def plan(self, symbol: str, now: float, config: PlannerConfig, calendar: EventCalendar,
             ask: PlanAsk | None = None) -> TradePlan:
        """The plan for ``symbol`` now; :class:`PlanUnavailable` says why there is none."""
        return self.plan_with_inputs(symbol, now, config, calendar, ask)[0]

    def plan_with_inputs(self, symbol: str, now: float, config: PlannerConfig,
                         calendar: EventCalendar,
                         ask: PlanAsk | None = None) -> tuple[TradePlan, PlanInputs]:
        """:meth:`plan`, with the verdicts and snapshot it was built from (for the LLM mode)."""
        live = config.live
        ask = ask or PlanAsk()
        snapshot = self.snapshots.get(symbol)
        if snapshot is None:
            raise PlanUnavailable(f"no market data for {symbol} yet: the bot must send bars "
                                  "(with atr_30d) for it first", "no_market_data")
        style = ask.style or live.style
        size = ask.account_size or live.account_size or self.equity
        if size is None or size <= 0:
            raise PlanUnavailable(f"no account size to plan {symbol} with: set live.account_size "
                                  "in config/planner.yaml, or let the bot send heartbeats with "
                                  f"its equity (last equity: {self.equity})", "no_account")
        wildcard = self.wildcard.get(symbol)
        if wildcard is not None and style != live.style and wildcard.source == "builtin":
            wildcard = None  # made for the live style's horizon: scan again for this one
        macro = self.macro.get(snapshot.asset_class) or self.macro.get(ANY_CLASS)
        try:
            verdicts = complete_verdicts(snapshot, style, now, config, calendar=calendar,
                                         technical=self.technical.get(symbol), macro=macro,
                                         wildcard=wildcard)
        except AnalysisError as exc:
            raise PlanUnavailable(f"cannot plan {symbol} yet: {exc}", "not_enough_data") from exc
        age = now - snapshot.ts
        stale = None
        if age > live.snapshot_max_age_s:
            stale = (f"market data for {symbol} is {age:.0f} s old (more than "
                     f"{live.snapshot_max_age_s:g} s)")
        plan = build_plan(verdicts.technical, verdicts.macro, verdicts.wildcard, snapshot,
                          Account(size=size, risk_pct=ask.risk_pct), style, now, config,
                          critical_error=stale)
        return plan, PlanInputs(technical=verdicts.technical, macro=verdicts.macro,
                                wildcard=verdicts.wildcard, snapshot=snapshot, config=config,
                                now=now)
