"""Builders of planner inputs with readable defaults, shared by the planner tests.

The default market is a stock at $100 on a Wednesday morning in New York, with
a 30-day ATR of $2, a support at $99 and resistances at $102 and $104.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from planner.config import PlannerConfig
from planner.messages import MacroVerdict, MarketSnapshot, TechnicalVerdict, WildCardVerdict
from planner.parts import (
    Account,
    AssetClass,
    Bar,
    Direction,
    Level,
    MarketStatus,
    PatternState,
    Regime,
    Risk,
    VolatilityRegime,
)

NOW = datetime(2026, 2, 4, 15, 0, tzinfo=UTC).timestamp()
"""Wednesday 2026-02-04, 10:00 in New York (EST)."""
CONFIG = PlannerConfig()
_REGIME: dict[Direction, Regime] = {"LONG": "risk_on", "SHORT": "risk_off", "NEUTRAL": "neutral"}


def lv(price: float, label: str = "") -> Level:
    return Level(price=price, label=label)


def tech(
    direction: Direction = "LONG",
    confidence: float = 70.0,
    *,
    symbol: str = "AAPL",
    supports: Sequence[float] = (99.0, 97.0),
    resistances: Sequence[float] = (102.0, 104.0),
    entry_type: str | None = None,
    pattern: PatternState = "broken",
    volatility: VolatilityRegime = "normal",
) -> TechnicalVerdict:
    if entry_type is None:
        entry_type = {"LONG": "buy_support", "SHORT": "short_resistance"}.get(direction, "none")
    return TechnicalVerdict(
        symbol=symbol, ts=NOW, direction=direction, confidence=confidence,
        entry_type=entry_type, supports=[lv(p, "S") for p in supports],
        resistances=[lv(p, "R") for p in resistances], pattern_state=pattern,
        volatility_regime=volatility)


def macro(
    direction: Direction = "LONG", confidence: float = 60.0, *, regime: Regime | None = None
) -> MacroVerdict:
    return MacroVerdict(ts=NOW, regime=regime or _REGIME[direction], direction=direction,
                        confidence=confidence)


def wild(*risks: Risk, symbol: str = "AAPL") -> WildCardVerdict:
    return WildCardVerdict(symbol=symbol, ts=NOW, risks=list(risks))


def bar(ts: float, open_: float, close: float, *, high: float | None = None,
        low: float | None = None, volume: float = 1000.0) -> Bar:
    return Bar(ts=ts, open=open_, close=close, high=high if high is not None else max(open_, close),
               low=low if low is not None else min(open_, close), volume=volume)


def green_bars(n: int, start: float = 99.0, step: float = 0.1, ts: float = NOW - 3600) -> list[Bar]:
    """``n`` one-minute green bars rising by ``step``."""
    return [bar(ts + 60 * i, start + step * i, start + step * (i + 1)) for i in range(n)]


def snap(
    price: float = 100.0,
    *,
    hod: float = 103.0,
    lod: float = 98.0,
    atr: float = 2.0,
    vwap: float | None = 99.5,
    bars: Sequence[Bar] | None = None,
    asset_class: AssetClass = "stock",
    status: MarketStatus = "open",
    symbol: str = "AAPL",
    prev_close: float | None = None,
) -> MarketSnapshot:
    return MarketSnapshot(
        symbol=symbol, ts=NOW, asset_class=asset_class, price=price, hod=hod, lod=lod,
        atr_30d=atr, vwap=vwap, bars=list(bars) if bars is not None else green_bars(10),
        market_status=status, prev_close=prev_close)


def account(size: float = 100_000.0, risk_pct: float | None = 1.0) -> Account:
    return Account(size=size, risk_pct=risk_pct)
