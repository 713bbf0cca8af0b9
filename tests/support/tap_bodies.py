"""Message bodies as ``kernel tap`` sees them: real Structs turned into builtins.

Built from the Structs with ``msgspec.to_builtins`` so a renamed field shows up
in the tap's tests, not on an operator's screen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from agents.watchdog.messages import BotStateReported
from bus.protocol import Heartbeat, OrderDecision, OrderRequest, Position
from risk.messages import RiskStateSnapshot

T0 = 1_800_000_000.0


def b(message: msgspec.Struct) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(message)
    return body


def bot_state(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "state": "running", "mode": "paper", "ts": T0, "pid": 4242, "bot_id": "qe-1",
        "uptime_s": 100.0, "last_heartbeat_age_s": 0.5, "equity": 10_050.0,
        "realized_pnl": 40.0, "unrealized_pnl": 10.0, "positions": 1, "restarts": 0}
    fields.update(overrides)
    return b(BotStateReported(**fields))


def risk(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": T0, "day": "2027-01-15", "trading_state": "ACTIVE", "max_leverage": Decimal("2.00"),
        "equity": Decimal("9850"), "start_equity": Decimal("10000"),
        "daily_loss": Decimal("150"), "max_daily_loss": Decimal("300"),
        "drawdown": Decimal("450"), "max_drawdown": Decimal("500"),
        "trailing_drawdown": Decimal("10"), "max_trailing_drawdown": Decimal("1000"),
        "leverage": Decimal("0.5"),
        "notional": {"ETHUSDT": Decimal("1000"), "BTCUSDT": Decimal("-4000.5")}}
    fields.update(overrides)
    return b(RiskStateSnapshot(**fields))


def heartbeat(seq: int = 1, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "bot_id": "qe-1", "seq": seq, "ts": T0, "uptime_s": 100.0, "equity": 10_060.0,
        "realized_pnl": 40.0, "unrealized_pnl": 20.0,
        "positions": [Position(symbol="BTCUSDT", qty=-0.5, avg_price=60_000.0,
                               mark_price=59_960.0)]}
    fields.update(overrides)
    return b(Heartbeat(**fields))


def request(rid: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"request_id": rid, "bot_id": "qe-1", "ts": T0, "symbol": "BTCUSDT",
                              "side": "buy", "qty": 0.25, "price": 60_000.0}
    fields.update(overrides)
    return b(OrderRequest(**fields))


def decision(rid: str, verdict: str = "ALLOW", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": rid, "verdict": verdict, "trading_state": "ACTIVE",
        "code": "allowed" if verdict == "ALLOW" else "daily_loss_limit",
        "reason": "within limits" if verdict == "ALLOW" else "daily loss 300 reached"}
    fields.update(overrides)
    return b(OrderDecision(**fields))


def status(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "status_reply", "version": "0.1.0", "pid": 77, "uptime_s": 60.0, "mode": "paper",
        "trading_state": "ACTIVE", "gate": "RiskEngine", "endpoints": {},
        "actors": [{"name": "risk", "state": "RUNNING", "restarts": 0, "last_error": ""},
                   {"name": "watchdog", "state": "FAULTED", "restarts": 3, "last_error": "x"}],
        "bots": [{"bot_id": "qe-1"}], "journal_path": "", "journal_last_seq": 1,
        "decisions": 0, "anomalies": {"bad_frame": 2, "lag": 1}}
    fields.update(overrides)
    return fields
