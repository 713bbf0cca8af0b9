"""The bot-link contract: every message QuantumEdge and the kernel exchange.

This module is relied on by clients outside the project (the bot, scripts users
write), so it changes only additively: a new field gets a default, a field is
never retyped, and a breaking change gets a new tag. Every type here is a frozen
msgspec Struct in one tagged union (``tag_field="type"``); bounds are declared on
the fields so that a decoded message is already a valid one: quantities are
positive, sides and actions are known words, and every number is finite.

Unknown fields are ignored on purpose (never ``forbid_unknown_fields`` on the
wire), so a newer bot can talk to an older kernel and the other way round.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final, Literal, TypeAlias, get_args

import msgspec

PROTOCOL_VERSION: Final = 1

# Bounds shared by many fields. Comparisons also reject NaN and infinities, so a
# decoded number is always finite.
_LIMIT = 1e15
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Symbol = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=4096)]
Timestamp = Annotated[float, msgspec.Meta(ge=0, le=1e11)]
"""Seconds since the Unix epoch (UTC), as from ``time.time()``."""
Price = Annotated[float, msgspec.Meta(gt=0, lt=_LIMIT)]
Quantity = Annotated[float, msgspec.Meta(gt=0, lt=_LIMIT)]
SignedQuantity = Annotated[float, msgspec.Meta(gt=-_LIMIT, lt=_LIMIT)]
Money = Annotated[float, msgspec.Meta(gt=-_LIMIT, lt=_LIMIT)]
NonNegative = Annotated[float, msgspec.Meta(ge=0, lt=_LIMIT)]
Leverage = Annotated[float, msgspec.Meta(ge=1, le=1000)]
Multiplier = Annotated[float, msgspec.Meta(ge=0, le=10)]

Side: TypeAlias = Literal["buy", "sell"]
BotMode: TypeAlias = Literal["paper", "demo"]
Mode: TypeAlias = Literal["off", "paper", "demo"]
TradingState: TypeAlias = Literal["ACTIVE", "REDUCING", "HALTED"]
Verdict: TypeAlias = Literal["ALLOW", "DENY"]
OrderType: TypeAlias = Literal["market", "limit"]
CommandAction: TypeAlias = Literal[
    "close_all", "pause", "resume", "set_mode", "set_risk_multiplier", "shutdown"
]
ParamValue: TypeAlias = str | float | bool | None
AssetKind: TypeAlias = Literal["stock", "index_etf", "crypto"]
MarketState: TypeAlias = Literal["open", "extended", "closed"]
TradeStyle: TypeAlias = Literal["SCALP", "DAY", "SWING", "INVESTMENT"]
OrderStatus: TypeAlias = Literal["accepted", "partially_filled", "cancelled", "rejected", "expired"]
"""What the venue did with an allowed order (``order_update``); the last three end it."""

# Every ``code`` an ``order_decision`` can carry, grouped by who makes it. This is
# the one list: producers are typed with it, docs/protocol.md lists it (a test
# compares the two), and the wire field stays ``str`` so that an older client
# reads a code added later as a plain denial instead of refusing the frame.
RiskCode: TypeAlias = Literal[
    "allowed", "invalid_request", "duplicate_request", "reduce_only_invalid", "no_position",
    "halted", "reducing_only", "symbol_not_allowed", "no_equity", "no_mark_price",
    "stale_feed", "daily_loss_limit", "drawdown_limit", "trailing_drawdown_limit",
    "consecutive_losses", "leverage_limit", "fat_finger_qty", "fat_finger_notional",
    "price_collar", "open_orders_limit", "rate_limit", "notional_limit", "internal_error",
    "reduce_only_exceeds_position", "portfolio_loss_limit", "portfolio_drawdown_limit",
    "portfolio_gross_limit", "portfolio_leverage_limit", "portfolio_notional_limit",
]
"""The risk engine's: ``allowed`` for every ALLOW, one code per rule for a DENY."""
KernelCode: TypeAlias = Literal[
    "risk_engine_unavailable", "kernel_halted", "journal_unavailable", "internal_error",
    "invalid_request", "identity_mismatch",
]
"""The kernel's own: its closed gates and the gateway's failures and identity check."""
WatchdogCode: TypeAlias = Literal["bot_gave_up", "bot_hung"]
"""The watchdog's, when it has lost control of the bot and closed the gate."""
LinkCode: TypeAlias = Literal["timeout", "link_error", "invalid_request"]
"""Made by the bot library (``bus/client.py``) itself; never sent by the kernel."""
DecisionCode: TypeAlias = Literal[RiskCode, KernelCode, WatchdogCode, LinkCode]
DECISION_CODES: Final[frozenset[str]] = frozenset(get_args(DecisionCode))


class Message(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of every message in the system, bot link and internal events alike.

    ``topic`` is the dotted bus topic the message is published on by default;
    subscribers filter by prefix (``order.`` sees requests and decisions).
    """

    topic: ClassVar[str] = "misc"


# --- bot -> kernel -----------------------------------------------------------


class Hello(Message, frozen=True, tag="hello"):
    """First message of a bot: who it is. Answered with ``welcome``."""

    topic: ClassVar[str] = "bot.hello"
    bot_id: Id
    mode: BotMode
    pid: Annotated[int, msgspec.Meta(ge=0)]
    version: Text = ""
    protocol: int = PROTOCOL_VERSION


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """One open position as the bot sees it; ``qty`` is signed (short < 0)."""

    symbol: Symbol
    qty: SignedQuantity
    avg_price: Price
    mark_price: Price


class Heartbeat(Message, frozen=True, tag="heartbeat"):
    """Periodic proof of life with the bot's own view of its money and market."""

    topic: ClassVar[str] = "bot.heartbeat"
    bot_id: Id
    seq: Annotated[int, msgspec.Meta(ge=0)]
    ts: Timestamp
    uptime_s: NonNegative
    equity: Money
    realized_pnl: Money
    unrealized_pnl: Money
    positions: Annotated[list[Position], msgspec.Meta(max_length=1000)] = []
    last_tick_ts: Timestamp | None = None
    last_tick_price: Price | None = None
    marks: Annotated[dict[Symbol, Price], msgspec.Meta(max_length=1000)] = {}
    """Mark price of every symbol the bot trades, flat ones included, as of
    ``last_tick_ts``; without it the kernel knows marks only of open positions
    and cannot allow a first order in a flat symbol. Added later: optional."""


class OrderRequest(Message, frozen=True, tag="order_request"):
    """The bot asks permission before every order (``can_execute``)."""

    topic: ClassVar[str] = "order.request"
    request_id: Id
    bot_id: Id
    ts: Timestamp
    symbol: Symbol
    side: Side
    qty: Quantity
    price: Price
    order_type: OrderType = "limit"
    reduce_only: bool = False
    leverage: Leverage = 1.0


class Fill(Message, frozen=True, tag="fill"):
    """An execution the bot got from the exchange (or its paper simulator)."""

    topic: ClassVar[str] = "order.fill"
    request_id: Id
    symbol: Symbol
    side: Side
    qty: Quantity
    price: Price
    ts: Timestamp
    fee: Money = 0.0
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


class OrderUpdate(Message, frozen=True, tag="order_update"):
    """What the venue did with an allowed order, other than a fill (added later).

    The risk engine keeps an allowed order's exposure reserved until the order is
    filled or ended by one of these: ``cancelled``, ``rejected`` and ``expired``
    end it, ``accepted`` and ``partially_filled`` confirm that it rests on the
    venue. ``remaining_qty`` is the venue's unfilled quantity: with an ending
    status, what was filled but not yet reported in ``fill`` stays reserved.
    """

    topic: ClassVar[str] = "order.update"
    request_id: Id
    status: OrderStatus
    ts: Timestamp
    venue_order_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    remaining_qty: NonNegative | None = None
    reason: Text = ""
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


class CommandAck(Message, frozen=True, tag="command_ack"):
    """The bot's answer to a ``command``: done or not, and why."""

    topic: ClassVar[str] = "bot.command_ack"
    command_id: Id
    ok: bool
    detail: Text = ""
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


class OhlcvBar(msgspec.Struct, frozen=True, kw_only=True):
    """One bar of market data; ``ts`` is when the bar opened."""

    ts: Timestamp
    open: Price
    high: Price
    low: Price
    close: Price
    volume: NonNegative = 0.0


class Bars(Message, frozen=True, tag="bars"):
    """Market data from the bot, oldest bar first: the planner's built-in analysis runs on it.

    A bot sends its recent history once after each ``welcome`` (up to 1,000 bars)
    and then every bar as it closes. ``atr_30d`` is the average true range of
    the last 30 daily bars, which the planner needs for its distances; without
    it the kernel analyses the bars but makes no plan for the symbol.
    """

    topic: ClassVar[str] = "market.bars"
    symbol: Symbol
    bars: Annotated[list[OhlcvBar], msgspec.Meta(min_length=1, max_length=1000)]
    interval_s: Annotated[float, msgspec.Meta(gt=0, le=604_800)] = 60.0
    asset_class: AssetKind = "crypto"
    atr_30d: Price | None = None
    market_status: MarketState = "open"
    prev_close: Price | None = None
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


class PlanRequest(Message, frozen=True, tag="plan_request"):
    """The bot asks for a trade plan for one symbol; answered by ``trade_plan`` or ``error``.

    Left out, ``style``, ``account_size`` and ``risk_pct`` come from the kernel's
    ``config/planner.yaml`` (the account defaults to the bot's heartbeat equity).
    """

    topic: ClassVar[str] = "plan.request"
    request_id: Id
    symbol: Symbol
    style: TradeStyle | None = None
    account_size: Price | None = None
    risk_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


# --- kernel -> bot -----------------------------------------------------------


class Welcome(Message, frozen=True, tag="welcome"):
    """Reply to ``hello``: how often to beat and the state of the gate."""

    topic: ClassVar[str] = "bot.welcome"
    heartbeat_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)]
    trading_state: TradingState
    risk_multiplier: Multiplier = 1.0
    protocol: int = PROTOCOL_VERSION
    risk_multiplier_by: Text = ""
    """Who set ``risk_multiplier``: ``risk.yaml`` (the default), ``operator:<user>``, or
    ``moderator:<source>`` (an adviser's cut). Added later: optional."""
    risk_multiplier_reason: Text = ""
    """Why, in the setter's words. Added later: optional."""
    risk_multiplier_until: Text = ""
    """How it ends, in words (the next trading day for an adviser's cut). Added later."""


class OrderDecision(Message, frozen=True, tag="order_decision"):
    """ALLOW or DENY for one ``order_request``; ``code`` is stable for machines."""

    topic: ClassVar[str] = "order.decision"
    request_id: Annotated[str, msgspec.Meta(max_length=128)]
    verdict: Verdict
    reason: Text
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """One of :data:`DecisionCode` as this version makes them. A plain string on the
    wire, never the Literal: a client must read a code added later (as a denial)
    rather than drop the frame. Build decisions with :func:`make_decision`."""
    trading_state: TradingState
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    ts: float = 0.0
    """When it was decided, on the decider's clock (the kernel's; a link's own DENY on
    the bot's). Minus the request's ``ts`` it is the decision's latency as the bot
    saw it being made, whenever a reader (the auditor, the metrics) gets to it.
    Added later: 0 in journals written before it."""


def make_decision(
    *, request_id: str, verdict: Verdict, code: DecisionCode, reason: str,
    trading_state: TradingState, ts: float, bot_id: str = "",
) -> OrderDecision:
    """An ``order_decision``: every producer, kernel or client, builds it here.

    ``code`` is typed, so mypy refuses an unknown one; the check below refuses one
    that comes untyped (it is not an ``assert``, so it holds under ``-O`` too). The
    reason is cut to the contract's bound so the decision always decodes.
    """
    if code not in DECISION_CODES:
        raise ValueError(f"unknown decision code {code!r}: add it to DecisionCode in "
                         "bus/protocol.py and to the table in docs/protocol.md")
    return OrderDecision(request_id=request_id, verdict=verdict, reason=reason[:4096],
                         code=code, trading_state=trading_state, bot_id=bot_id, ts=ts)


class Command(Message, frozen=True, tag="command"):
    """An order from the kernel to the bot; answered with ``command_ack``."""

    topic: ClassVar[str] = "bot.command"
    command_id: Id
    action: CommandAction
    params: dict[str, ParamValue] = {}


class Error(Message, frozen=True, tag="error"):
    """Reply to a frame the kernel could not accept, with the reason."""

    topic: ClassVar[str] = "bot.error"
    reason: Text
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "bad_frame"
    request_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


class TradePlanReply(msgspec.Struct, frozen=True, kw_only=True, tag_field="type",
                     tag="trade_plan"):
    """Reply to ``plan_request``: the planner's ``trade_plan``, as the link reads it.

    The kernel sends the planner's whole plan (docs/planner.md, "The plan"). This
    view types the fields a bot acts on and keeps the nested parts as plain data,
    so the link does not depend on the planner's internals and a richer plan
    never breaks an older bot. It is not a bus :class:`Message`: on the bus the
    same tag is the planner's own type.
    """

    request_id: str = ""
    symbol: str
    ts: float
    style: str
    asset_class: str
    decision: Literal["TRADE", "NO_TRADE"]
    direction: Literal["LONG", "SHORT"] | None = None
    confidence: float
    confidence_explanation: str = ""
    entry: dict[str, Any] | None = None
    position: dict[str, Any] | None = None
    stop_loss: dict[str, Any] | None = None
    targets: list[dict[str, Any]] = []
    time_stop: dict[str, Any] | None = None
    target_warning: str | None = None
    warnings: list[str] = []
    no_trade_reasons: list[str] = []


BotToKernel: TypeAlias = (
    Hello | Heartbeat | OrderRequest | Fill | OrderUpdate | CommandAck | Bars | PlanRequest
)
"""What a bot may send over the link."""

KernelToBot: TypeAlias = Welcome | OrderDecision | Command | Error | TradePlanReply
"""What the kernel sends to a bot."""

LinkMessage: TypeAlias = BotToKernel | KernelToBot

LinkBusMessage: TypeAlias = BotToKernel | Welcome | OrderDecision | Command | Error
"""The link's messages that also travel the bus: all but :class:`TradePlanReply`, whose
tag is the planner's ``TradePlan`` on the bus. The kernel composes it into its union."""

BOT_TO_KERNEL_TAGS: Final = frozenset(
    {"hello", "heartbeat", "order_request", "fill", "order_update", "command_ack", "bars",
     "plan_request"}
)
