"""What the risk moderator reads and answers: the summary it sends and the answer Struct.

The same :class:`ModeratorAnswer` comes from the LLM (through a forced tool
call whose input schema is generated from this Struct) and from the offline
rules, so everything downstream (the trust rules, the journal, the tap) treats
both alike. Field bounds are the decoder's first line; the trust rules in
``agents/moderator/rules.py`` are the one that decides.

The summary is compact on purpose: trades travel as rows (``array_like``) under
one column header, so 50 trades cost a few hundred tokens, not thousands.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from bus.protocol import Mode

Action: TypeAlias = Literal["OK", "REDUCE_RISK", "PAUSE", "SWITCH_TO_PAPER"]
Source: TypeAlias = Literal["llm", "offline"]
Note = Annotated[str, msgspec.Meta(max_length=2000)]


class ModeratorAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """Should trading continue with this behaviour? One action, and why."""

    action: Annotated[Action, msgspec.Meta(
        description="OK: keep trading. REDUCE_RISK: lower the risk multiplier. PAUSE: the bot "
                    "places no new orders for pause_minutes. SWITCH_TO_PAPER: leave demo for "
                    "paper trading.")]
    reason: Annotated[str, msgspec.Meta(
        min_length=1, max_length=2000,
        description="One or two sentences a trader can check against the data.")]
    risk_multiplier: Annotated[float, msgspec.Meta(
        ge=0, le=10, description="With REDUCE_RISK: the new multiplier, below the current one "
                                 "and not below the minimum in the data.")] | None = None
    pause_minutes: Annotated[int, msgspec.Meta(
        ge=0, le=100_000, description="With PAUSE: how long, in minutes.")] | None = None
    confidence: Annotated[float, msgspec.Meta(
        ge=0, le=100, description="How sure, in percent.")] | None = None


class TradeRow(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One closed round trip (or part of one); columns in ``ModerationSummary.trade_columns``."""

    symbol: str
    side: Literal["long", "short"]
    qty: float
    entry: float
    exit: float
    pnl: float
    """Realised, fees included."""
    closed_min_ago: float


class TradeStats(msgspec.Struct, frozen=True, kw_only=True):
    count: int = 0
    wins: int = 0
    losses: int = 0
    net_pnl: float = 0.0
    win_rate_pct: float | None = None
    loss_streak: int = 0
    """Losing round trips in a row, most recent last."""
    streak_loss: float = 0.0
    """USDT those losing trades lost together (fees included), as far as the tape shows."""


class RiskView(msgspec.Struct, frozen=True, kw_only=True):
    trading_state: str
    reasons: list[str] = []
    equity: float | None = None
    daily_loss: float | None = None
    max_daily_loss: float | None = None
    daily_loss_used_pct: float | None = None
    drawdown: float | None = None
    max_drawdown: float | None = None
    drawdown_used_pct: float | None = None
    consecutive_losses: int = 0
    max_consecutive_losses: int = 0
    risk_multiplier: float = 1.0
    age_s: float = 0.0


class RegimeView(msgspec.Struct, frozen=True, kw_only=True):
    regime: str
    direction: str
    confidence: float
    alignment: float
    note: str = ""
    age_s: float = 0.0


class BotView(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    mode: str
    restarts: int = 0
    positions: int = 0
    last_heartbeat_age_s: float | None = None
    last_tick_age_s: float | None = None
    equity: float | None = None
    note: str = ""
    """The watchdog's detail: text that came from the bot process, quoted as data."""


class AnomalyView(msgspec.Struct, frozen=True, kw_only=True):
    window_min: float
    count: int = 0
    """Warnings or worse within the window."""
    by_kind: dict[str, int] = {}
    recent: list[str] = []


class BoundsView(msgspec.Struct, frozen=True, kw_only=True):
    """What an answer may do right now, so the adviser need not guess."""

    allowed_actions: list[Action]
    current_multiplier: float | None
    min_multiplier: float
    max_pause_minutes: int
    multiplier_by: str = ""
    """Who set the current multiplier: ``risk.yaml``, ``operator:<user>``, or
    ``moderator:<source>`` when a cut of this trading day is in force."""


class ModerationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The compact state the moderator judges; built by ``moderator_rules.build_summary``."""

    ts: float
    trigger: str
    mode: Mode
    bounds: BoundsView
    risk: RiskView | None = None
    regime: RegimeView | None = None
    bot: BotView | None = None
    stats: TradeStats = TradeStats()
    trade_columns: str = "symbol,side,qty,entry,exit,pnl,closed_min_ago"
    last_trades: list[TradeRow] = []
    anomalies: AnomalyView = AnomalyView(window_min=15)
    bot_id: str = ""
    """In a fleet, the bot whose risk figures these are (the one most at risk now): a
    REDUCE_RISK applies to it alone; a PAUSE or SWITCH_TO_PAPER to every bot. "": the
    one bot."""
