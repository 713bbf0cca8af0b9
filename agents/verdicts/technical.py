"""The Technical verdict adapter: bars in, market snapshots and the current Technical verdict out.

It turns the bot's bars (``market.bars``) into the market snapshot every other
planner actor reads (``market.snapshot``), runs the built-in Technical analysis
on them, and publishes on ``verdict.current.technical`` either that or an
external agent's verdict from ``verdict.technical`` while it is fresh (see
``agents/verdicts/_selection.py`` for the rule). Snapshots published by someone
else are analysed too, for symbols the bot sends no bars for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from agents.verdicts._adapter import KEYS_MAX, VerdictAdapter
from agents.verdicts._bars import BarHistory, bar_problem
from agents.verdicts._selection import Kind
from agents.verdicts.slice import VerdictSlice
from bus.protocol import Bars, Message
from kernel.bounded import BoundedDict
from kernel.events import AnomalyDetected, Severity
from planner.messages import MarketSnapshot, TechnicalVerdict
from planner.parts import Bar
from planner.technical import analyze_technical, min_bars

HISTORIES_MAX = 256
"""Symbols whose bars are kept (each up to ``live.bar_history`` bars)."""

class TechnicalAdapter(VerdictAdapter[TechnicalVerdict]):
    name: ClassVar[str] = "technical_adapter"
    kind: ClassVar[Kind] = "technical"
    subscriptions: ClassVar[tuple[str, ...]] = ("market.bars", "market.snapshot",
                                                "verdict.technical")

    def __init__(self, *, config: VerdictSlice) -> None:
        super().__init__(config=config)
        self._history: BoundedDict[str, BarHistory] = BoundedDict(HISTORIES_MAX)
        """Bars per symbol a bot sends; a bot may name any symbol, so a bounded few."""
        self._own: BoundedDict[str, MarketSnapshot] = BoundedDict(KEYS_MAX)
        self._told_no_atr: BoundedDict[str, None] = BoundedDict(KEYS_MAX)

    async def handle(self, message: Message) -> Sequence[Message]:
        match message:
            case Bars():
                return self._on_bars(message)
            case MarketSnapshot():
                self._on_snapshot(message)
            case TechnicalVerdict():
                return self.offer_external(message, message.symbol)
        return ()

    def _on_bars(self, message: Bars) -> list[Message]:
        symbol = message.symbol
        problem = bar_problem(message.bars)
        if problem is not None:
            return [self._anomaly("invalid_bars", "warning", f"{symbol} bars from "
                                  f"{message.bot_id or 'a bot'} refused: {problem}")]
        history = self._history.get(symbol)
        if history is None:
            history = self._history[symbol] = BarHistory(symbol, self.live.bar_history)
        else:
            self._history.move_to_end(symbol)  # a symbol in use is the last to be dropped
        if not history.merge(message):
            return []
        out: list[Message] = []
        snapshot = history.snapshot()
        if snapshot is not None:
            self._own[symbol] = snapshot
            self.ctx.publish(snapshot)
        elif symbol not in self._told_no_atr:
            self._told_no_atr[symbol] = None
            out.append(self._anomaly(
                "missing_atr", "info", f"{symbol}: bars carry no atr_30d, so they are analysed "
                "but no plan is made until the bot sends the 30-day ATR"))
        self._analyse(symbol, history.bars)
        return out

    def _on_snapshot(self, snapshot: MarketSnapshot) -> None:
        symbol = snapshot.symbol
        if symbol in self._history or self._own.get(symbol) == snapshot:
            return  # our own, or a symbol whose bars the bot sends: those win
        self._analyse(symbol, snapshot.bars)

    def _analyse(self, symbol: str, bars: Sequence[Bar]) -> None:
        cfg = self.planner.technical
        if len(bars) >= min_bars(cfg):
            self.set_builtin(symbol, analyze_technical(symbol, list(bars), self.now(), cfg))

    def _anomaly(self, kind: str, severity: Severity, detail: str) -> AnomalyDetected:
        return AnomalyDetected(kind=kind, severity=severity, ts=self.now(), source=self.name,
                               detail=detail)
