"""The auditor's event: one day's audit, as journaled, published and rendered.

``DailyAuditCompleted`` goes on ``audit.daily``. Being a journal row, it is in
the hash chain like everything else, so a stored audit cannot be changed
quietly either; it also records the chain head at the time it was made, which
is what makes a re-hashed history detectable once the report has left the
machine. Money is ``Decimal`` (a string on the wire: no digit is lost); a figure
that could not be known (no heartbeat that day) is ``None``, never zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal, TypeAlias

import msgspec

from bus.protocol import Message

AUDIT_FORMAT = 1
"""Bumped when a figure changes meaning; readers check it."""


class PnlSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The day's money. Realised PnL is net of fees, as the bot counts it."""

    start_equity: Decimal | None = None
    """Equity at the day's first heartbeat (summed over bots)."""
    end_equity: Decimal | None = None
    """Equity at the day's last heartbeat (summed over bots)."""
    realized_pnl: Decimal = Decimal(0)
    """From the fills journaled that day: closed PnL minus every fee paid."""
    fees: Decimal = Decimal(0)
    unrealized_pnl: Decimal | None = None
    """Open PnL at the last heartbeat, as the bot reported it."""
    max_drawdown: Decimal = Decimal(0)
    """Largest fall of equity from its running peak within the day (from heartbeats)."""
    max_drawdown_pct: Decimal | None = None
    """``max_drawdown`` as a percent of the peak it fell from."""
    sessions: int = 0
    """Bot sessions seen that day (a ``hello`` begins one; summed over bots)."""
    equity_reset: Decimal = Decimal(0)
    """How far the bots' equity jumped at their session boundaries (a bot that came
    back with another account); kept out of the traded change and the drawdown."""


class TradeStats(msgspec.Struct, frozen=True, kw_only=True):
    """Round trips (flat to flat, or to a flip) closed that day, fees included."""

    fills: int = 0
    trades: int = 0
    wins: int = 0
    losses: int = 0
    win_rate_pct: Decimal | None = None
    """Wins over trades, in percent; None when no trade closed."""
    average_win: Decimal | None = None
    average_loss: Decimal | None = None
    largest_win: Decimal | None = None
    largest_loss: Decimal | None = None
    trades_pnl: Decimal = Decimal(0)
    """Sum of the closed trades' PnL (differs from realised PnL by the fees of
    trades still open at the end of the day and of positions carried in)."""


class OrderStats(msgspec.Struct, frozen=True, kw_only=True):
    requested: int = 0
    allowed: int = 0
    denied: int = 0
    denied_by_code: dict[str, int] = msgspec.field(default_factory=dict)
    unanswered: int = 0
    """Requests journaled without a decision (the kernel stopped in between)."""


class Moment(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened at a time: a limit that fired, a halt, a mode change."""

    ts: float
    what: str
    """A stable word: the limit's code, ``HALTED`` / ``ACTIVE``, the new mode."""
    detail: str = ""


class AnomalyCount(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    count: int
    worst: str
    """The highest severity seen for this kind."""
    sources: tuple[str, ...] = ()


class BotEvents(msgspec.Struct, frozen=True, kw_only=True):
    starts: int = 0
    restarts: int = 0
    hangs: int = 0
    crashes: int = 0
    gave_up: int = 0
    unexpected_exits: int = 0
    actor_restarts: dict[str, int] = msgspec.field(default_factory=dict)


class ShadowStats(msgspec.Struct, frozen=True, kw_only=True):
    """The day's ``shadow.decision`` rows: orders the shadow limits (``risk.shadow.yaml``)
    would have answered otherwise. The real decisions stood."""

    differed: int = 0
    allow_to_deny: dict[str, int] = msgspec.field(default_factory=dict)
    """By the shadow's DENY code."""
    deny_to_allow: dict[str, int] = msgspec.field(default_factory=dict)
    """By the real DENY code."""
    other_code: int = 0
    first_ts: float | None = None


class TradeClosed(Message, frozen=True, tag="trade_closed"):
    """A fill ended a round trip (flat, or flipped): the facts the day's win rate counts.

    Booked by the auditor from the fills with the risk engine's average-cost rules;
    ``pnl`` is the whole round trip's, fees of every fill in it included.
    """

    topic: ClassVar[str] = "audit.trade"
    bot_id: str
    symbol: str
    direction: Literal["long", "short"]
    qty: Decimal
    """The size the closing fill took off (the position just before it)."""
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    request_id: str
    ts: float


class BotSection(msgspec.Struct, frozen=True, kw_only=True):
    """One bot's own money, trades and orders, in a day with several bots."""

    pnl: PnlSummary = PnlSummary()
    trades: TradeStats = TradeStats()
    orders: OrderStats = OrderStats()


class DailyAuditCompleted(Message, frozen=True, tag="daily_audit"):
    """The audit of one trading day (local midnight at the risk config's offset)."""

    topic: ClassVar[str] = "audit.daily"
    day: str
    timezone: str
    ts: float
    """When the audit was made."""
    complete: bool
    """False for a day still running (an on-demand report)."""
    traded: bool
    """Any order requested or filled; a day without is reported as such."""
    rows: int
    """Journal rows read for the day."""
    first_seq: int | None = None
    last_seq: int | None = None
    chain_seq: int | None = None
    chain_head: str = ""
    """Hex chain hash of row ``chain_seq``: keep it outside the machine."""
    pnl: PnlSummary = PnlSummary()
    trades: TradeStats = TradeStats()
    orders: OrderStats = OrderStats()
    limits_fired: tuple[Moment, ...] = ()
    halts: tuple[Moment, ...] = ()
    """Every change of the trading state, with who moved it and why."""
    mode_changes: tuple[Moment, ...] = ()
    operator_commands: tuple[Moment, ...] = ()
    bots: BotEvents = BotEvents()
    anomalies: tuple[AnomalyCount, ...] = ()
    limits_in_force: dict[str, str] = msgspec.field(default_factory=dict)
    """From the day's last risk snapshot: each limit as the engine applied it; with
    several bots, from each bot's last one, as ``bot:<id> <limit>``."""
    per_bot: dict[str, BotSection] = msgspec.field(default_factory=dict)
    """With several bots that day, each bot's own figures; the figures above are then
    the portfolio's total (docs/fleet.md)."""
    notes: tuple[str, ...] = ()
    format: int = AUDIT_FORMAT
    shadow: ShadowStats | None = None
    """None: no shadow limits were in force that day (no snapshot carried their counts)."""


AuditEvent: TypeAlias = TradeClosed | DailyAuditCompleted
"""Every event of the auditor; the kernel composes it into the bus union."""
