"""What the moderator has seen: closed trades, the risk state, the regime, the bot, anomalies.

Pure: messages and the time they were seen go in, nothing is read from a clock
or a socket. :meth:`ModeratorBook.update` also says which triggers a message
fired. Triggers are edge-triggered and re-arm when the condition clears, so a
day spent at 60% of the loss limit asks once, not on every risk snapshot.

Closed trades are rebuilt from fills with average-cost accounting per bot and
symbol (fees included): the risk engine keeps its ledger to itself, and the
moderator needs the trades, not just the totals, to judge "this behaviour".

In a fleet (docs/fleet.md) each bot's risk state, multiplier and watchdog report
are kept apart, keyed by bot id, and the triggers are armed per bot. A moderation
is about one bot, the :attr:`ModeratorBook.subject`: the bot most at risk now (the
most held, then the nearest to a loss limit). Its figures fill the summary and a
REDUCE_RISK applies to it alone; two bots' figures are never mixed.
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


@dataclass(slots=True)
class _BotRisk:
    """One bot's newest risk figures ("" is the one-bot shorthand's bot)."""

    risk: RiskStateSnapshot | None = None
    risk_at: float = 0.0
    multiplier: float | None = None
    multiplier_by: str = ""


_HELD: Final = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


@dataclass(frozen=True, slots=True)
class Seen:
    ts: float
    kind: str
    detail: str


class ModeratorBook:
    """See the module docstring."""

    def __init__(self, *, mode: Mode, keep_trades: int, keep_anomalies: int = 1000) -> None:
        self._mode: Mode = mode
        self._modes: dict[str, Mode] = {}
        """Each bot's mode, by bot id, as its watchdog last reported it."""
        self.trades: deque[ClosedTrade] = deque(maxlen=keep_trades)
        self._risks: dict[str, _BotRisk] = {}
        """Each bot's risk figures, by bot id (the one bot's under "")."""
        self.regime: MacroVerdict | None = None
        self.regime_at = 0.0
        self._bots: dict[str, tuple[BotStateReported, float]] = {}
        self.anomalies: deque[Seen] = deque(maxlen=keep_anomalies)
        self._open: dict[tuple[str, str], _Open] = {}
        self._armed: dict[tuple[str, str], bool] = {}

    # --- whose figures ----------------------------------------------------------------

    @property
    def subject(self) -> str:
        """The bot a moderation is about: the most held, then the nearest to its daily
        loss or drawdown limit, then the first by id; "" for the one bot."""
        if not self._risks:
            return ""
        return max(sorted(self._risks), key=lambda b: self._urgency(b))

    def _urgency(self, bot: str) -> tuple[int, float]:
        risk = self._risks[bot].risk
        if risk is None:
            return (-1, 0.0)
        used = [u for u in (_used(risk.daily_loss, risk.max_daily_loss),
                            _used(risk.drawdown, risk.max_drawdown)) if u is not None]
        return (_HELD.get(risk.trading_state, 2), max(used, default=0.0))

    @property
    def mode(self) -> Mode:
        """The subject's mode (its watchdog's word), else the newest reported."""
        return self._modes.get(self.subject, self._mode)

    @property
    def bot_ids(self) -> list[str]:
        """The bots whose risk figures were seen (in a fleet, each bot's id)."""
        return sorted(b for b in self._risks if b)

    def _of(self, bot: str | None) -> _BotRisk:
        return self._risks.get(self.subject if bot is None else bot) or _BotRisk()

    @property
    def risk(self) -> RiskStateSnapshot | None:
        return self._of(None).risk

    @property
    def risk_at(self) -> float:
        return self._of(None).risk_at

    @property
    def multiplier(self) -> float | None:
        return self._of(None).multiplier

    @property
    def multiplier_by(self) -> str:
        """Who set the subject's multiplier (``risk.yaml``, ``operator:<user>``, ...)."""
        return self._of(None).multiplier_by

    @property
    def bot(self) -> BotStateReported | None:
        """The subject's watchdog report (the newest of any bot when it has none: the
        one-bot shorthand's engine names no bot, its watchdog does)."""
        found = self._bots.get(self.subject)
        if found is None and self._bots:
            found = max(self._bots.values(), key=lambda seen: seen[1])
        return found[0] if found is not None else None

    @property
    def bot_at(self) -> float:
        found = self._bots.get(self.subject)
        return found[1] if found is not None else max((t for _, t in self._bots.values()),
                                                       default=0.0)

    def update(self, message: Message, now: float, triggers: Triggers) -> list[str]:
        """Take in one message; return the triggers it fired (usually none)."""
        match message:
            case Fill():
                self._fill(message)
            case RiskStateSnapshot():
                mine = self._risks.setdefault(message.bot_id, _BotRisk())
                mine.risk, mine.risk_at = message, now
                mine.multiplier = message.risk_multiplier
                mine.multiplier_by = message.risk_multiplier_by
                return self._risk_triggers(message.bot_id, triggers)
            case RiskMultiplierChanged():
                mine = self._risks.setdefault(message.bot_id, _BotRisk())
                mine.multiplier, mine.multiplier_by = message.current, message.by
            case TradingStateChanged():
                return self._edge("halt", message.bot_id,
                                  triggers.on_halt and message.current == "HALTED",
                                  _named(message.bot_id, f"trading halted: {message.cause}")[:200])
            case MacroVerdict():
                self.regime, self.regime_at = message, now
            case BotStateReported():
                self._bots[message.bot_id] = (message, now)
                self._mode = self._modes[message.bot_id] = message.mode
            case ModeChanged():  # names no bot: every bot's watchdog carried it out
                self._mode = message.mode
                self._modes = dict.fromkeys(self._modes, message.mode)
            case AnomalyDetected() if message.severity in _COUNTED:
                self.anomalies.append(Seen(now, message.kind, message.detail[:200]))
            case RiskAnomalyDetected():
                self.anomalies.append(Seen(now, message.kind, message.detail[:200]))
            case _:
                return []
        if not isinstance(message, Fill):
            return []
        known = message.bot_id if message.bot_id in self._risks else self.subject
        return self._risk_triggers(known, triggers)  # the one bot's engine names no bot

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

    def daily_loss_used(self, bot: str | None = None) -> float | None:
        """Daily loss as a share of its limit (0..1+), None when not known yet; the
        subject's, or ``bot``'s."""
        risk = self._of(bot).risk
        return None if risk is None else _used(risk.daily_loss, risk.max_daily_loss)

    def drawdown_used(self, bot: str | None = None) -> float | None:
        risk = self._of(bot).risk
        return None if risk is None else _used(risk.drawdown, risk.max_drawdown)

    def recent_anomalies(self, now: float, window_s: float) -> list[Seen]:
        return [a for a in self.anomalies if now - a.ts <= window_s]

    # --- triggers -------------------------------------------------------------------

    def _risk_triggers(self, bot: str, triggers: Triggers) -> list[str]:
        """``bot``'s triggers, each armed per bot: one bot at 60 % of its loss limit
        asks once, and another bot reaching it later asks again."""
        fired: list[str] = []
        risk = self._of(bot).risk
        if risk is not None:
            fired += self._edge("halt", bot, triggers.on_halt and risk.trading_state == "HALTED",
                                _named(bot, "trading halted"))
        used = self.daily_loss_used(bot)
        fraction = triggers.daily_loss_fraction
        fired += self._edge("daily_loss", bot,
                            fraction > 0 and used is not None and used >= fraction,
                            _named(bot, f"daily loss at {100 * (used or 0):.0f}% of its limit"))
        streak, limit = self._streak(bot), triggers.loss_streak
        fired += self._edge("loss_streak", bot, limit > 0 and streak >= limit,
                            _named(bot, f"{streak} losing trades in a row"))
        return fired

    def _streak(self, bot: str) -> int:
        risk = self._of(bot).risk
        return risk.consecutive_losses if risk is not None else self.loss_streak

    def _edge(self, name: str, bot: str, condition: bool, text: str) -> list[str]:
        """Fire once when ``condition`` becomes true; re-arm when it is false again."""
        key = (name, bot)
        if not condition:
            self._armed[key] = True
            return []
        if not self._armed.get(key, True):
            return []
        self._armed[key] = False
        return [text]

    # --- trades ---------------------------------------------------------------------

    def _fill(self, fill: Fill) -> None:
        book = self._open.setdefault((fill.bot_id, fill.symbol), _Open())
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


def _used(value: object, limit: object) -> float | None:
    if value is None or not limit:
        return None
    return float(str(value)) / float(str(limit))


def _named(bot: str, text: str) -> str:
    return f"bot {bot}: {text}" if bot else text
