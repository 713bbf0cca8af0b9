"""Events of the risk engine, published on the bus and journaled.

Named for what happened. The kernel adds ``RiskEvent`` to its union of bus
messages; the tap and ``kernel status`` show ``RiskStateSnapshot``. Money is
``Decimal`` (encoded as a string on the wire, so no digit is lost).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal, TypeAlias

import msgspec

from bus.protocol import Fill, Heartbeat, Message, OrderUpdate, TradingState
from risk.state import OpenOrder, RiskState

Actor: TypeAlias = Literal["limits", "human", "rollover", "reconcile", "heartbeat", "restart",
                          "watchdog"]
"""Who moved the trading state: a limit, a person, the day rollover, the ledger, or
the watchdog (which halts when it has lost control of the bot)."""


class ReasonView(msgspec.Struct, frozen=True, kw_only=True):
    """A reason for the trading state as people and tools see it."""

    level: Literal["HALTED", "REDUCING"]
    code: str
    text: str
    since: float | None = None
    """When the reason came into force."""
    way_out: str = ""
    """What lifts it: the exact command, or that (and when) it lifts itself."""
    lifts_at: float | None = None
    """When it lifts itself, when that is known (a day rollover)."""


class TradingStateChanged(Message, frozen=True, tag="trading_state_changed"):
    """ACTIVE / REDUCING / HALTED changed; ``reasons`` are the ones now in force."""

    topic: ClassVar[str] = "risk.halt"
    previous: TradingState
    current: TradingState
    by: Actor
    cause: str
    ts: float
    reasons: tuple[ReasonView, ...] = ()
    bot_id: str = ""
    """In a fleet, the bot whose engine changed state; "": the one bot."""


class LimitTripped(Message, frozen=True, tag="limit_tripped"):
    """A limit was reached and trading was halted; ``action`` is what follows."""

    topic: ClassVar[str] = "risk.limit"
    code: str
    reason: str
    value: Decimal
    limit: Decimal
    action: Literal["close_all", "flag_manual_close", "halt"]
    ts: float


class LimitWarning(Message, frozen=True, tag="limit_warning"):
    """A limit is at ``ratio`` (80 % or more) of what trips it, in ``scope``
    (``bot:ID``, ``portfolio``, ``account:X``); said once per scope, limit and day."""

    topic: ClassVar[str] = "risk.warning"
    scope: str
    code: str
    value: Decimal
    limit: Decimal
    ratio: Decimal
    text: str
    ts: float


class CloseAllRequested(Message, frozen=True, tag="close_all_requested"):
    """The engine wants the bot flat: the gate sends it a ``close_all`` command."""

    topic: ClassVar[str] = "risk.halt"
    reason: str
    deadline_ts: float
    ts: float


class ManualCloseFlagged(Message, frozen=True, tag="manual_close_flagged"):
    """Positions are still open and a person must close them."""

    topic: ClassVar[str] = "risk.halt"
    reason: str
    ts: float
    positions: dict[str, Decimal] = msgspec.field(default_factory=dict)


class FlatConfirmed(Message, frozen=True, tag="flat_confirmed"):
    """The bot reported no open position after a close was asked for or flagged."""

    topic: ClassVar[str] = "risk.halt"
    ts: float


class DayRolled(Message, frozen=True, tag="day_rolled"):
    """A new trading day began; its start equity comes with the next heartbeat."""

    topic: ClassVar[str] = "risk.day"
    previous_day: str
    day: str
    ts: float


class RiskMultiplierChanged(Message, frozen=True, tag="risk_multiplier_changed"):
    """The factor on every size limit changed, within its configured bounds."""

    topic: ClassVar[str] = "risk.multiplier"
    previous: float
    current: float
    reason: str
    ts: float
    by: str = ""
    """Who set it: ``operator:<user>``, ``moderator:<source>``, or ``rollover`` when an
    adviser's cut ended with its trading day."""
    until: str = ""
    """How the new value ends, in words (``risk.multiplier.until``)."""
    bot_id: str = ""
    """In a fleet, the bot whose multiplier this is; "": the one bot."""


class RiskAnomalyDetected(Message, frozen=True, tag="risk_anomaly"):
    """The bot's view disagrees with the ledger, it sent a fact the ledger refused,
    or it left an allowed order unconfirmed.

    ``kind``: ``position_mismatch``, ``equity_mismatch``, ``invalid_fill``,
    ``invalid_heartbeat``, ``invalid_order_update`` or ``order_unconfirmed``.
    """

    topic: ClassVar[str] = "anomaly.risk"
    kind: str
    detail: str
    ts: float


class OrdersReleased(Message, frozen=True, tag="orders_released"):
    """A person's resume ended the reservations of orders the bot never confirmed
    (each reported ``order_unconfirmed`` before); ``reason`` is the resume's."""

    topic: ClassVar[str] = "risk.orders"
    request_ids: tuple[str, ...]
    reason: str
    ts: float


class ShadowCounts(msgspec.Struct, frozen=True, kw_only=True):
    """What the shadow limits (``config/risk.shadow.yaml``) said beside the real ones,
    since the engine started: orders judged, and how many verdicts differed."""

    orders: int = 0
    allow_to_deny: int = 0
    """The real limits allowed, the shadow would have denied."""
    deny_to_allow: int = 0
    other_code: int = 0
    """Denied by both, for another reason."""


class ShadowDecisionDiffered(Message, frozen=True, tag="shadow_decision"):
    """The shadow limits would have answered this order otherwise. Nothing changes:
    the real decision stands; this is evidence for a limit change (docs/replay.md)."""

    topic: ClassVar[str] = "shadow.decision"
    request_id: str
    bot_id: str
    symbol: str
    side: str
    qty: float
    price: float
    verdict: str
    code: str
    shadow_verdict: str
    shadow_code: str
    shadow_reason: str
    ts: float


class RiskStateSnapshot(Message, frozen=True, tag="risk_snapshot"):
    """A compact summary for the tap and ``kernel status``; None means not known yet."""

    topic: ClassVar[str] = "risk.state"
    ts: float
    day: str
    trading_state: TradingState
    max_leverage: Decimal
    reasons: tuple[ReasonView, ...] = ()
    manual_close_needed: bool = False
    close_requested: bool = False
    """``close_all`` was sent and the bot has not reported flat yet."""
    equity: Decimal | None = None
    start_equity: Decimal | None = None
    daily_loss: Decimal | None = None
    max_daily_loss: Decimal | None = None
    drawdown: Decimal | None = None
    max_drawdown: Decimal | None = None
    trailing_drawdown: Decimal | None = None
    max_trailing_drawdown: Decimal | None = None
    leverage: Decimal | None = None
    notional: dict[str, Decimal] = msgspec.field(default_factory=dict)
    open_orders: int = 0
    consecutive_losses: int = 0
    max_consecutive_losses: int = 0
    risk_multiplier: float = 1.0
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    risk_multiplier_by: str = ""
    """Who set the multiplier: ``risk.yaml``, ``operator:<user>``, ``moderator:<source>``."""
    risk_multiplier_reason: str = ""
    risk_multiplier_since: float | None = None
    risk_multiplier_until: str = ""
    """How it ends, in words: at the next trading day (an adviser's cut), or when a
    person changes it."""
    bot_id: str = ""
    """In a fleet, the bot whose ledger this is; "": the one bot."""
    shadow: ShadowCounts | None = None
    """The shadow limits' counts; None when no ``risk.shadow.yaml`` is in force."""


class OperatorCommandRefused(Message, frozen=True, tag="operator_command_refused"):
    """An operator's command was not carried out; ``reason`` says why and what to do.

    A resume after a limit halt needs the operator's confirmation: the limit was
    reached by the market, not by a person, so lifting it must be deliberate.
    """

    topic: ClassVar[str] = "risk.operator"
    action: str
    reason: str
    user: str
    ts: float


class RiskStateSaved(Message, frozen=True, tag="risk_state_saved"):
    """The engine's whole state as saved in the journal, to be restored after a restart.

    Written to the journal only (not published on the bus): it is a record for
    the next start, not news. See "Persistence" in ``docs/risk.md``.
    """

    topic: ClassVar[str] = "risk.saved"
    ts: float
    state: RiskState
    last_fact: Heartbeat | Fill | OrderUpdate | None = None
    """The newest heartbeat, fill or order update ``state`` holds: a restore replays the
    fills and updates journaled after its row even when they lie before this save's
    (they were still on their way to the engine when it saved)."""
    facts_through: int = 0
    """The journal seq through which ``state`` holds every fill and update, as the
    engine's restore read them (0: it restored none). A restore replays from after the
    later of this and ``last_fact``'s row: the newest fact a restored engine took can
    lie before it (a copy still queued from before its restore read the journal).
    0 with no ``last_fact`` (an older kernel's save): after this save's own row."""


class RiskStateSavedInParts(RiskStateSaved, frozen=True, tag="risk_state_saved_in_parts"):
    """A save whose open orders are mostly in earlier rows (:class:`OpenOrdersSaved`):
    ``state.open_orders`` holds only the orders added or changed since those rows, and
    ``orders_gone`` the ids in them no longer open. A tag of its own, so a kernel that
    cannot read it fails closed instead of taking the few orders here for all of them."""

    order_parts: tuple[int, ...] = ()
    """The journal seqs of the :class:`OpenOrdersSaved` rows, in order."""
    orders_gone: tuple[str, ...] = ()


class OpenOrdersSaved(Message, frozen=True, tag="risk_orders_saved"):
    """A slice of the open orders, written a slice per turn of the loop for the saves
    after it (:class:`RiskStateSavedInParts`); journal only, never on the bus."""

    topic: ClassVar[str] = "risk.orders_saved"
    ts: float
    orders: dict[str, OpenOrder]


RiskEvent: TypeAlias = (
    TradingStateChanged | LimitTripped | CloseAllRequested | ManualCloseFlagged
    | FlatConfirmed | DayRolled | RiskMultiplierChanged | RiskAnomalyDetected
    | OrdersReleased | RiskStateSnapshot | OperatorCommandRefused | RiskStateSaved
    | RiskStateSavedInParts | OpenOrdersSaved | LimitWarning
    | ShadowDecisionDiffered
)
"""Every event the risk engine emits; the kernel composes it into the bus union."""
