"""Builders for the risk tests: limits, heartbeats, orders and ready states.

A plain module (not a conftest) so that hypothesis tests can call it freely.
All times are on a fake clock: ``NOW`` is 2024-05-01 12:00:00 UTC.
"""

from __future__ import annotations

import itertools
from typing import Any

from bus.protocol import Fill, Heartbeat, OrderRequest, Position
from risk import RiskLimits, RiskState, SymbolLimits, apply_heartbeat, initial_state

NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z
MIDNIGHT = 1_714_608_000.0  # 2024-05-02T00:00:00Z
MARKS = {"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0}
_ids = itertools.count(1)


def limits(**overrides: Any) -> RiskLimits:
    """Round numbers that make the arithmetic in the tests easy to follow."""
    base: dict[str, Any] = {
        "symbols": {"BTCUSDT": SymbolLimits(max_order_qty=0.5), "ETHUSDT": SymbolLimits()},
        "max_notional_per_symbol": 5000.0,
        "max_leverage": 2.0,
        "max_order_notional": 2500.0,
        "max_price_deviation_pct": 1.0,
        "max_orders_per_second": 5.0,
        "max_open_orders": 20,
    }
    return RiskLimits(**{**base, **overrides})


def heartbeat(equity: float = 10_000.0, positions: dict[str, tuple[float, float]] | None = None,
              marks: dict[str, float] | None = None, tick_ts: float | None = NOW,
              ts: float = NOW) -> Heartbeat:
    """``positions`` maps symbol -> (qty, avg_price); every marked symbol is listed,
    flat ones with qty 0, as the bot is asked to do."""
    marks = dict(MARKS if marks is None else marks)
    held = positions or {}
    rows = [Position(symbol=s, qty=held.get(s, (0.0, m))[0], avg_price=held.get(s, (0.0, m))[1],
                     mark_price=m) for s, m in sorted(marks.items())]
    return Heartbeat(bot_id="qe", seq=next(_ids), ts=ts, uptime_s=100.0, equity=equity,
                     realized_pnl=0.0, unrealized_pnl=0.0, positions=rows,
                     last_tick_ts=tick_ts)


def order(symbol: str = "BTCUSDT", side: str = "buy", qty: float = 0.01,
          price: float = 50_000.0, *, reduce_only: bool = False, leverage: float = 1.0,
          request_id: str | None = None, bot_id: str = "qe") -> OrderRequest:
    return OrderRequest(request_id=request_id or f"r{next(_ids)}", bot_id=bot_id, ts=NOW,
                        symbol=symbol, side=side, qty=qty, price=price,  # type: ignore[arg-type]
                        reduce_only=reduce_only, leverage=leverage)


def fill(symbol: str = "BTCUSDT", side: str = "buy", qty: float = 0.01,
         price: float = 50_000.0, fee: float = 0.0, request_id: str = "f") -> Fill:
    return Fill(request_id=request_id, symbol=symbol, side=side, qty=qty,  # type: ignore[arg-type]
                price=price, fee=fee, ts=NOW)


def ready(lim: RiskLimits | None = None, equity: float = 10_000.0,
          positions: dict[str, tuple[float, float]] | None = None,
          marks: dict[str, float] | None = None, now: float = NOW) -> RiskState:
    """An ACTIVE state anchored by one heartbeat at ``now``."""
    lim = lim or limits()
    state = initial_state(lim, now)
    state, _ = apply_heartbeat(state, heartbeat(equity, positions, marks, tick_ts=now, ts=now),
                               lim, now)
    return state
