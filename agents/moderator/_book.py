"""What the moderator has seen: closed trades, the risk state, the regime, the bot, anomalies.

Pure: messages and the time they were seen go in, nothing is read from a clock
or a socket. :meth:`ModeratorBook.update` also says which triggers a message
fired. Triggers are edge-triggered and re-arm when the condition clears, so a
day spent at 60% of the loss limit asks once, not on every risk snapshot.

Closed trades are rebuilt from fills with average-cost accounting per symbol
(fees included): the risk engine keeps its ledger to itself, and the moderator
needs the trades, not just the totals, to judge "this behaviour".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

from agents.moderator.llm_config import Triggers
from agents.watchdog.messages import BotStateReported, ModeChanged
from bus.protocol import Fill, Message, Mode
from kernel.events import AnomalyDetected
from planner.messages import MacroVerdict
from risk.messages import (
    RiskAnomalyDetected,
    RiskMultiplierChanged,
    RiskStateSnapshot,
    TradingStateChanged,
)

_EPS: Final = 1e-12
_COUNTED: Final = frozenset({"warning", "error", "critical"})


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    symbol: str
    side: Literal["long", "short"]
    """The position that was closed."""
    qty: float
    entry: float
    exit: float
    pnl: float
    ts: float


@dataclass(slots=True)
class _Open:
    qty: float = 0.0
    """Signed: short below zero."""
    avg: float = 0.0
    fees: float = 0.0
    """Entry fees not yet charged to a closed trade."""


@dataclass(frozen=True, slots=True)
class Seen:
    ts: float
    kind: str
    detail: str


class ModeratorBook:
    """See the module docstring."""

    def __init__(self, *, mode: Mode, keep_trades: int, keep_anomalies: int = 1000) -> None:
        self.mode: Mode = mode
        self.trades: deque[ClosedTrade] = deque(maxlen=keep_trades)
        self.risk: RiskStateSnapshot | None = None
        self.risk_at = 0.0
        self.multiplier: float | None = None
        self.multiplier_by = ""
        """Who set the multiplier in force: ``risk.yaml``, ``operator:<user>``, ``moderator:..``."""
        self.regime: MacroVerdict | None = None
        self.regime_at = 0.0
        self.bot: BotStateReported | None = None
        self.bot_at = 0.0
        self.anomalies: deque[Seen] = deque(maxlen=keep_anomalies)
        self._open: dict[str, _Open] = {}
        self._armed = {"halt": True, "daily_loss": True, "loss_streak": True}

    def update(self, message: Message, now: float, triggers: Triggers) -> list[str]:
        """Take in one message; return the triggers it fired (usually none)."""
        match message:
            case Fill():
                self._fill(message)
            case RiskStateSnapshot():
                self.risk, self.risk_at = message, now
                self.multiplier = message.risk_multiplier
                self.multiplier_by = message.risk_multiplier_by
            case RiskMultiplierChanged():
                self.multiplier, self.multiplier_by = message.current, message.by
            case TradingStateChanged():
                return self._edge("halt", triggers.on_halt and message.current == "HALTED",
                                  f"trading halted: {message.cause}"[:200])
            case MacroVerdict():
                self.regime, self.regime_at = message, now
            case BotStateReported():
                self.bot, self.bot_at = message, now
                self.mode = message.mode
            case ModeChanged():
                self.mode = message.mode
            case AnomalyDetected() if message.severity in _COUNTED:
                self.anomalies.append(Seen(now, message.kind, message.detail[:200]))
            case RiskAnomalyDetected():
                self.anomalies.append(Seen(now, message.kind, message.detail[:200]))
            case _:
                return []
        return self._risk_triggers(triggers) if isinstance(message, RiskStateSnapshot | Fill) \
            else []

    @property
    def loss_streak(self) -> int:
        """Losing round trips in a row: the ledger's count when known, else the tape's."""
        if self.risk is not None:
            return self.risk.consecutive_losses
        streak = 0
        for trade in reversed(self.trades):
            if trade.pnl >= 0:
                break
            streak += 1
        return streak

    def streak_loss(self) -> float:
        """USDT lost together by the trailing losing trades of the tape (at most the streak)."""
        lost, left = 0.0, self.loss_streak
        for trade in reversed(self.trades):
            if left <= 0 or trade.pnl >= 0:
                break
            lost, left = lost - trade.pnl, left - 1
        return round(lost, 2)

    def daily_loss_used(self) -> float | None:
        """Daily loss as a share of its limit (0..1+), None when not known yet."""
        risk = self.risk
        if risk is None or risk.daily_loss is None or not risk.max_daily_loss:
            return None
        return float(risk.daily_loss) / float(risk.max_daily_loss)

    def drawdown_used(self) -> float | None:
        risk = self.risk
        if risk is None or risk.drawdown is None or not risk.max_drawdown:
            return None
        return float(risk.drawdown) / float(risk.max_drawdown)

    def recent_anomalies(self, now: float, window_s: float) -> list[Seen]:
        return [a for a in self.anomalies if now - a.ts <= window_s]

    # --- triggers -------------------------------------------------------------------

    def _risk_triggers(self, triggers: Triggers) -> list[str]:
        fired: list[str] = []
        risk = self.risk
        if risk is not None:
            fired += self._edge("halt", triggers.on_halt and risk.trading_state == "HALTED",
                                "trading halted")
        used = self.daily_loss_used()
        fraction = triggers.daily_loss_fraction
        fired += self._edge("daily_loss", fraction > 0 and used is not None and used >= fraction,
                            f"daily loss at {100 * (used or 0):.0f}% of its limit")
        streak, limit = self.loss_streak, triggers.loss_streak
        fired += self._edge("loss_streak", limit > 0 and streak >= limit,
                            f"{streak} losing trades in a row")
        return fired

    def _edge(self, name: str, condition: bool, text: str) -> list[str]:
        """Fire once when ``condition`` becomes true; re-arm when it is false again."""
        if not condition:
            self._armed[name] = True
            return []
        if not self._armed[name]:
            return []
        self._armed[name] = False
        return [text]

    # --- trades ---------------------------------------------------------------------

    def _fill(self, fill: Fill) -> None:
        book = self._open.setdefault(fill.symbol, _Open())
        signed = fill.qty if fill.side == "buy" else -fill.qty
        fee = fill.fee
        if book.qty * signed < 0:  # against the position: closes some or all of it
            closing = min(abs(signed), abs(book.qty))
            share = closing / abs(book.qty)
            long = book.qty > 0
            gross = (fill.price - book.avg) * closing * (1 if long else -1)
            fees = book.fees * share + fee * closing / fill.qty
            self.trades.append(ClosedTrade(  # rounded once here, not in every summary
                symbol=fill.symbol, side="long" if long else "short", qty=round(closing, 8),
                entry=round(book.avg, 8), exit=fill.price, pnl=round(gross - fees, 2),
                ts=fill.ts))
            book.fees -= book.fees * share
            book.qty += closing if not long else -closing
            signed += -closing if signed > 0 else closing
            fee -= fee * closing / fill.qty
            if abs(book.qty) < _EPS:
                book.qty, book.avg, book.fees = 0.0, 0.0, 0.0
        if abs(signed) > _EPS:  # what is left opens or adds to a position
            total = book.qty + signed
            book.avg = (book.avg * abs(book.qty) + fill.price * abs(signed)) / abs(total)
            book.qty, book.fees = total, book.fees + fee
