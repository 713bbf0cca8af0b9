"""The options selector actor: stock plans in, the same plans expressed in option contracts out.

It keeps the newest option chain of each underlying (``market.options_chain``,
published by whatever feeds the kernel option data) and the newest market
snapshot of each symbol, and answers every TRADE plan on ``plan.trade`` for an
underlying it follows with ``planner.options.plan_with_options``. The answer
goes out on ``plan.trade`` too, carrying its ``options`` block; plans that
already carry one are its own and are ignored, so it never answers itself.

It follows the underlyings in ``options.yaml`` ``live.symbols``, or, when that
list is empty, every underlying it has a chain for. A followed plan without a
usable chain (none yet, or older than ``live.chain_max_age_s``) is not
expressed in options, and an anomaly says why, once per symbol and reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from agents.planner._verdict_book import SYMBOLS_MAX
from agents.planner.slice import OptionsSlice
from bus.protocol import Message
from kernel.actor import Actor
from kernel.bounded import BoundedDict
from kernel.events import AnomalyDetected
from planner.contracts import OptionChain
from planner.messages import MarketSnapshot, TradePlan
from planner.options import plan_with_options


class OptionsSelector(Actor):
    name: ClassVar[str] = "options_selector"
    subscriptions: ClassVar[tuple[str, ...]] = ("plan.trade", "market.options_chain",
                                                "market.snapshot")

    def __init__(self, *, config: OptionsSlice) -> None:
        super().__init__()
        self._cfg = config.options
        self.chains: BoundedDict[str, OptionChain] = BoundedDict(SYMBOLS_MAX)
        self.snapshots: BoundedDict[str, MarketSnapshot] = BoundedDict(SYMBOLS_MAX)
        self._told: BoundedDict[str, str] = BoundedDict(SYMBOLS_MAX)
        """Per symbol, the last reason it could not be served (said once, not per plan)."""

    async def handle(self, message: Message) -> Sequence[Message]:
        match message:
            case OptionChain(underlying=underlying):
                self.chains[underlying.upper()] = message
            case MarketSnapshot(symbol=symbol):
                self.snapshots[symbol.upper()] = message
            case TradePlan(decision="TRADE", options=None):
                return self._express(message)
        return ()

    def _express(self, plan: TradePlan) -> list[Message]:
        symbol = plan.symbol.upper()
        cfg = self._cfg
        wanted = {s.upper() for s in cfg.live.symbols}
        if (symbol not in wanted) if wanted else (symbol not in self.chains):
            return []
        now = self.ctx.clock()
        chain, snapshot = self.chains.get(symbol), self.snapshots.get(symbol)
        if chain is None:
            return self._once(symbol, "no_chain", now, f"No option chain for {symbol} yet: "
                              "its plans are not expressed in options")
        age = now - chain.ts if chain.ts is not None else None
        if age is None or age > cfg.live.chain_max_age_s:
            seen = "has no timestamp" if age is None else f"is {age:.0f} s old"
            return self._once(symbol, "stale_chain", now, f"The option chain for {symbol} {seen}"
                              f" (limit {cfg.live.chain_max_age_s:g} s): its plan is not "
                              "expressed in options")
        if snapshot is None:
            return self._once(symbol, "no_snapshot", now, f"No market snapshot for {symbol}: "
                              "its plan is not expressed in options")
        self._told.pop(symbol, None)
        return [plan_with_options(plan, chain, snapshot, now, cfg)]

    def _once(self, symbol: str, code: str, now: float, detail: str) -> list[Message]:
        if self._told.get(symbol) == code:
            return []
        self._told[symbol] = code
        return [AnomalyDetected(kind="options_unavailable", severity="info", ts=now,
                                source=self.name, detail=detail)]
