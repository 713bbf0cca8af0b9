"""The risk state: everything the rules need to know, in one immutable value.

Every transition returns a new ``RiskState`` and never mutates the old one (the
``dict`` fields are copied on write, never changed in place), so the gate can
keep the last state, journal it, and restore it after a restart with
``msgspec.json.decode(data, type=RiskState)``. Money and quantities are
``Decimal`` (see ``risk.money``); timestamps are kernel-clock floats passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, TypeAlias

import msgspec

from bus.protocol import OrderStatus, Side, TradingState
from risk.money import EXACT, ZERO, money
from risk.request_ids import RequestIds as RequestIds  # its home before it had its own

Level: TypeAlias = Literal["HALTED", "REDUCING"]
Scope: TypeAlias = Literal["day", "sticky", "heartbeat"]
"""When a reason goes away by itself: at the day rollover, never (a person
resumes), or at the next heartbeat that reconciles the ledger."""
ReconcileMode: TypeAlias = Literal["adopt", "verify", "done"]


class StateReason(msgspec.Struct, frozen=True, kw_only=True):
    """Why trading is not ACTIVE; ``code`` is stable, ``text`` is for people."""

    level: Level
    code: str
    text: str
    ts: float
    day: str
    scope: Scope
    until: float | None = None
    """When a day-scoped reason lifts itself (the next day rollover); None: unknown."""


class PositionState(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger's position in one symbol, with the last mark seen for it.

    A flat symbol is kept for its mark (the price collar and the valuation of a
    first order need one). ``trade_pnl`` is the realised PnL, fees included, of
    the round trip in progress; it decides the loss streak when the trade closes.
    """

    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    mark_price: Decimal | None = None
    mark_ts: float | None = None
    trade_pnl: Decimal = ZERO


class OpenOrder(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An allowed order not filled or ended yet: its quantity stays reserved.

    ``qty`` is what is still reserved: the allowed quantity less the fills
    reported for it (after an ending ``order_update``, only the fills the venue
    made but the bot has not reported yet). ``status`` is the last
    ``order_update`` (None: none yet) and ``updated_ts`` when it came;
    ``reported`` says the ``order_unconfirmed`` anomaly was raised for it. A
    ``reduce_only`` order reserves part of the position it reduces.

    Encoded without the fields at their defaults (``omit_defaults``; a decoder
    fills them in, so older saves read alike): with 10,000 open orders that is
    43 % fewer bytes in each saved risk state, and less to hash, commit and copy.
    """

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    ts: float
    reduce_only: bool = False
    status: OrderStatus | None = None
    venue_order_id: str = ""
    updated_ts: float | None = None
    reported: bool = False


class TokenBucket(msgspec.Struct, frozen=True, kw_only=True):
    """Order-rate throttle of one bot: O(1) state however high the rate is set."""

    tokens: float
    ts: float


class Reconciliation(msgspec.Struct, frozen=True, kw_only=True):
    """Progress of checking the bot's view against the ledger.

    ``adopt``: nothing known yet, the next heartbeat's positions are taken as
    they are. ``verify``: restored after a restart, the next heartbeat must
    agree. ``done``: agreement is checked on every heartbeat, with a grace time.
    """

    mode: ReconcileMode = "adopt"
    position_mismatch_since: float | None = None
    equity_mismatch_since: float | None = None
    equity_mismatch_reported: bool = False


class MultiplierSetting(msgspec.Struct, frozen=True, kw_only=True):
    """Who set the risk multiplier to ``value``, why, and on which trading day.

    ``by`` is ``risk.yaml`` (its default), ``operator:<user>`` or an adviser
    (``moderator:offline``, ``moderator:llm``); see ``risk.multiplier``.
    """

    value: float
    by: str
    reason: str
    ts: float
    day: str


def open_pnl(positions: Mapping[str, PositionState]) -> Decimal:
    """Open PnL at the marks, exact: the sum of ``qty * (mark - avg_price)``.

    Calls ``EXACT``'s own methods rather than entering ``localcontext(EXACT)``:
    the digits are the same and the gate asks for equity on every order, where a
    context switch costs four times the arithmetic it wraps.
    """
    total = ZERO
    for pos in positions.values():
        if pos.qty and pos.mark_price is not None:
            total = EXACT.add(total, EXACT.multiply(pos.qty,
                                                    EXACT.subtract(pos.mark_price, pos.avg_price)))
    return total


class RiskState(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """One snapshot of the engine's knowledge; see the module docstring.

    ``dict=True`` gives derived sums a place beside the fields (never encoded,
    compared or copied by ``replace``): ``risk.exposure.pending_of`` keeps the
    open quantity per symbol there, so a decision does not add up every open
    order again."""

    day: str
    start_equity: Decimal | None = None
    """Ledger equity at the first heartbeat of ``day``; None until then."""
    high_water: Decimal | None = None
    """Highest ledger equity of ``day`` (the base of ``max_drawdown``)."""
    peak: Decimal | None = None
    """Highest ledger equity ever (the base of ``max_trailing_drawdown``)."""
    cash: Decimal | None = None
    """Ledger equity without unrealised PnL; None until a heartbeat anchors it."""
    realized_pnl: Decimal = ZERO
    """Realised PnL of ``day`` from fills, fees included."""
    positions: dict[str, PositionState] = {}
    open_orders: dict[str, OpenOrder] = {}
    request_ids: RequestIds = RequestIds()
    buckets: dict[str, TokenBucket] = {}
    consecutive_losses: int = 0
    reasons: tuple[StateReason, ...] = ()
    manual_close_needed: bool = False
    close_requested_at: float | None = None
    risk_multiplier: float = 1.0
    multiplier_set: MultiplierSetting | None = None
    """Who set ``risk_multiplier`` and why (None: the default, or a state saved before
    this was recorded; see ``risk.multiplier.setting``)."""
    multiplier_base: MultiplierSetting | None = None
    """While an adviser's cut is in force: the setting it cut, which comes back at the
    next trading day. None: the multiplier stays until a person changes it."""
    reconciliation: Reconciliation = Reconciliation()
    bot_equity: Decimal | None = None
    bot_realized_pnl: Decimal | None = None
    bot_unrealized_pnl: Decimal | None = None
    last_heartbeat_ts: float | None = None
    last_tick_ts: float | None = None
    unconfirmed_from: float | None = None
    """The earliest time an order not yet reported ``order_unconfirmed`` was waited on
    since, as of the last look over ``open_orders`` (``risk.orders.report_unconfirmed``);
    None: look at the next check. Until ``open_order_ttl_s`` after it no order can be
    late, so a heartbeat does not walk every open order."""

    @property
    def trading_state(self) -> TradingState:
        """Derived from the reasons, so the two can never disagree."""
        if self.reasons == ():  # the common case, asked on every order: no generator to run
            return "ACTIVE"
        if any(r.level == "HALTED" for r in self.reasons):
            return "HALTED"
        return "REDUCING" if self.reasons else "ACTIVE"

    @property
    def unrealized_pnl(self) -> Decimal:
        """Open PnL at the marks (a position without a mark counts at cost)."""
        return open_pnl(self.positions)

    @property
    def equity(self) -> Decimal | None:
        """Ledger equity: the anchored cash plus open PnL, at ``MONEY_DECIMALS`` places;
        None before any heartbeat."""
        cash = self.cash
        if cash is None:
            return None
        kept = self.__dict__.get("_equity")  # asked several times per fact: summed once
        if kept is not None and kept[0] is self.positions and kept[1] is cash:
            return kept[2]  # type: ignore[no-any-return]
        value = money(EXACT.add(cash, open_pnl(self.positions)))
        self.__dict__["_equity"] = (self.positions, cash, value)
        return value

    @property
    def is_flat(self) -> bool:
        return not any(pos.qty for pos in self.positions.values())

    def reason_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.reasons)


def carry_figures(before: RiskState, after: RiskState) -> RiskState:
    """``after``, a ``replace`` of ``before``, with the figures kept beside ``before``.

    Each figure kept in a state's ``__dict__`` names the fields it was worked out
    from (by identity: ``_equity`` its positions and cash, ``_pending`` its open
    orders, ``_losses`` its bases and equity, ``_day`` its day and limits,
    ``_caps`` its limits and multiplier) and is read only while they are the same
    objects, so carrying all of them over is safe: those whose fields changed are
    ignored, and worked out again when asked. Returns ``after``.
    """
    kept = before.__dict__
    if kept:
        after.__dict__.update(kept)
    return after
