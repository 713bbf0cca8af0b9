"""The global limits, as written in ``config/risk.yaml``.

Decoded with ``msgspec.convert`` (``kernel.config.load_yaml(path, RiskLimits)``):
unknown keys are refused, every number carries its bounds, and a wrong value is
reported with the field it sits in. The numbers stay floats here because YAML
gives floats and msgspec validates their bounds; the rules turn each one into a
``Decimal`` (see ``risk.money``) before comparing it with money.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal, TypeAlias

import msgspec

from risk.money import HUNDRED, dec, pct, price_step, usdt

Pct = Annotated[float, msgspec.Meta(gt=0, le=100)]
Usdt = Annotated[float, msgspec.Meta(gt=0, lt=1e15)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
SymbolName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
LossAction: TypeAlias = Literal["close_all", "flag_manual_close"]
Decimals = Annotated[int, msgspec.Meta(ge=0, le=18)]

_TIMEZONE = re.compile(r"^UTC(?:(?P<sign>[+-])(?P<h>\d{2}):(?P<m>\d{2}))?$")


class _Limits(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of the risk config Structs: a misspelt key is an error, not a default."""


class LossLimit(_Limits, frozen=True):
    """A loss budget, either a percent of a base equity or a fixed USDT amount.

    Written ``{pct: 3}`` or ``{usdt: 500}``: a mapping rather than a string such
    as ``"3%"`` so that msgspec checks the number and its bounds itself.
    """

    pct: Pct | None = None
    usdt: Usdt | None = None

    def __post_init__(self) -> None:
        if (self.pct is None) == (self.usdt is None):
            raise ValueError("set exactly one of `pct` (percent) or `usdt` (amount)")

    def amount(self, base: Decimal) -> Decimal:
        """The budget in USDT for a base equity (start of day, high-water mark, peak)."""
        if self.usdt is not None:
            return dec(self.usdt)
        assert self.pct is not None  # __post_init__ guarantees one of the two
        return dec(self.pct) * base / HUNDRED

    def basis(self, base: Decimal, base_name: str) -> str:
        """How the budget was computed, for reasons: ``3% of start-of-day equity 10000 USDT``."""
        if self.pct is None:
            return "fixed amount"
        return f"{pct(dec(self.pct))} of {base_name} {usdt(base)}"


class SymbolLimits(_Limits, frozen=True):
    """Per-symbol settings; listing a symbol is what allows it."""

    max_order_qty: Annotated[float, msgspec.Meta(gt=0, lt=1e15)] | None = None
    """Fat-finger cap on one order's quantity, in the base asset; none if unset."""
    max_notional: Usdt | None = None
    """Overrides ``max_notional_per_symbol`` for this symbol."""
    price_decimals: Decimals | None = None
    """Overrides ``price_decimals`` for this symbol's average entry price."""


class MultiplierBounds(_Limits, frozen=True):
    """Where ``risk_multiplier`` may be set (by a person or the moderator)."""

    min: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.1
    max: Annotated[float, msgspec.Meta(ge=0, le=10)] = 1.0
    default: Annotated[float, msgspec.Meta(ge=0, le=10)] = 1.0

    def __post_init__(self) -> None:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"need min <= default <= max, found min {self.min:g}, "
                             f"default {self.default:g}, max {self.max:g}")


class ReconcileLimits(_Limits, frozen=True):
    """How far the bot's own view may drift from the ledger before it is an anomaly."""

    qty_tolerance_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] = 0.01
    equity_tolerance_usdt: Annotated[float, msgspec.Meta(ge=0, lt=1e15)] = 5.0
    equity_tolerance_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] = 0.5
    grace_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 5.0
    """A disagreement must last this long: a fill and a heartbeat may cross."""


class BotOverrides(_Limits, frozen=True):
    """One bot's own values of the per-bot limits (``risk.yaml`` ``bots: {ID: {...}}``);
    a key left out keeps the value of the top level."""

    max_daily_loss: LossLimit | None = None
    max_drawdown: LossLimit | None = None
    max_trailing_drawdown: LossLimit | None = None
    max_consecutive_losses: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    on_loss_halt: LossAction | None = None
    max_notional_per_symbol: Usdt | None = None
    max_leverage: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None
    max_order_notional: Usdt | None = None
    max_orders_per_second: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)] | None = None
    max_open_orders: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    symbols: dict[SymbolName, SymbolLimits] | None = None
    """Replaces the whole allow-list for this bot (a bot may trade fewer symbols)."""


class PortfolioLimits(_Limits, frozen=True):
    """Limits across every bot (and across the bots of each account), on the sums of
    their ledgers; an unset limit is not checked (docs/risk.md, "Scopes")."""

    max_daily_loss: LossLimit | None = None
    """Of the combined start-of-day equity (``pct``) or a fixed amount (``usdt``)."""
    max_drawdown: LossLimit | None = None
    """From the sum of the bots' high-water marks of the day."""
    max_gross_notional: Usdt | None = None
    """Gross notional held plus the reserved notional of pending opening orders plus the
    new order, in USDT."""
    max_leverage: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None
    """The same gross notional over the combined equity: gross + pending + new <=
    equity x max_leverage."""
    max_notional_per_symbol: Usdt | None = None
    """One symbol's worst-case notional summed over the bots."""


class RiskLimits(_Limits, frozen=True):
    """Every global limit of the risk engine; see ``docs/risk.md`` for each."""

    timezone: str = "UTC"
    """Checked in ``__post_init__`` so a wrong zone gets words, not the regex."""
    max_daily_loss: LossLimit = LossLimit(pct=3)
    max_drawdown: LossLimit = LossLimit(pct=5)
    max_trailing_drawdown: LossLimit = LossLimit(pct=10)
    max_consecutive_losses: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 6
    on_loss_halt: LossAction = "close_all"
    close_timeout_s: Seconds = 30.0
    max_notional_per_symbol: Usdt = 5000.0
    max_leverage: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 2.0
    max_order_notional: Usdt = 2500.0
    max_price_deviation_pct: Pct = 1.5
    max_orders_per_second: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)] = 5.0
    max_open_orders: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 20
    open_order_ttl_s: Seconds = 60.0
    stale_tick_s: Seconds = 5.0
    remember_request_ids: Annotated[int, msgspec.Meta(ge=64, le=1_000_000)] = 4096
    risk_multiplier: MultiplierBounds = MultiplierBounds()
    symbols: dict[SymbolName, SymbolLimits] = {}
    reconcile: ReconcileLimits = ReconcileLimits()
    price_decimals: Decimals = 8
    """Places an average entry price is kept at (a division: never exact)."""
    bots: dict[SymbolName, BotOverrides] = {}
    """Per-bot values of the limits above, by bot id (a fleet: docs/fleet.md)."""
    portfolio: PortfolioLimits = PortfolioLimits()
    """Limits across all bots; none is checked unless set."""

    def __post_init__(self) -> None:
        utc_offset_seconds(self.timezone)  # refuse UTC+25:00 at load time, not at midnight

    def for_bot(self, bot_id: str) -> RiskLimits:
        """The limits one bot's ledger is held to: the top level with its overrides."""
        own = self.bots.get(bot_id)
        if own is None:
            return self
        changed = {f: v for f in own.__struct_fields__ if (v := getattr(own, f)) is not None}
        return msgspec.structs.replace(self, **changed)

    @property
    def utc_offset_s(self) -> int:
        """Seconds east of UTC of the day boundary (``UTC+03:00`` -> 10800)."""
        return utc_offset_seconds(self.timezone)

    def symbol_notional_limit(self, symbol: str) -> Decimal:
        """The per-symbol notional cap before the risk multiplier."""
        own = self.symbols.get(symbol)
        if own is not None and own.max_notional is not None:
            return dec(own.max_notional)
        return dec(self.max_notional_per_symbol)

    def price_step(self, symbol: str) -> Decimal:
        """The step of ``symbol``'s average entry price (``Decimal("1E-8")`` by default)."""
        own = self.symbols.get(symbol)
        if own is not None and own.price_decimals is not None:
            return price_step(own.price_decimals)
        return price_step(self.price_decimals)


@lru_cache(maxsize=64)
def utc_offset_seconds(timezone: str) -> int:
    """Parse ``UTC``, ``UTC+03:00`` or ``UTC-05:30``; anything else is a ``ValueError``."""
    match = _TIMEZONE.match(timezone)
    if match is None:
        raise ValueError(f"timezone {timezone!r}: expected UTC or a fixed offset UTC+HH:MM / "
                         "UTC-HH:MM (zone names such as EST or Europe/Paris are not read: "
                         "EST is UTC-05:00)")
    if match["sign"] is None:
        return 0
    hours, minutes = int(match["h"]), int(match["m"])
    if hours > 14 or minutes > 59:
        raise ValueError(f"timezone {timezone!r}: offset out of range")
    seconds = hours * 3600 + minutes * 60
    return seconds if match["sign"] == "+" else -seconds
