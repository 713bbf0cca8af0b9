"""The compact summary of the risk state that the tap and ``kernel status`` show."""

from __future__ import annotations

from decimal import Decimal

from risk.limits import RiskLimits
from risk.measures import loss_measures
from risk.messages import RiskStateSnapshot
from risk.money import dec
from risk.reasons import views
from risk.state import RiskState


def snapshot(state: RiskState, limits: RiskLimits, now: float) -> RiskStateSnapshot:
    """Numbers a person checks first: the state and why, the losses against their
    limits, leverage, and the notional held in each symbol (at the marks)."""
    measures = {m.code: m for m in loss_measures(state, limits)}
    notional = {s: abs(p.qty) * p.mark_price for s, p in sorted(state.positions.items())
                if p.qty and p.mark_price is not None}
    equity = state.equity
    leverage = None
    if equity is not None and equity > 0:
        leverage = sum(notional.values(), Decimal(0)) / equity

    def value(code: str) -> Decimal | None:
        return measures[code].value if code in measures else None

    def limit(code: str) -> Decimal | None:
        return measures[code].limit if code in measures else None

    return RiskStateSnapshot(
        ts=now, day=state.day, trading_state=state.trading_state, reasons=views(state),
        manual_close_needed=state.manual_close_needed,
        close_requested=state.close_requested_at is not None, equity=equity,
        start_equity=state.start_equity,
        daily_loss=value("daily_loss_limit"), max_daily_loss=limit("daily_loss_limit"),
        drawdown=value("drawdown_limit"), max_drawdown=limit("drawdown_limit"),
        trailing_drawdown=value("trailing_drawdown_limit"),
        max_trailing_drawdown=limit("trailing_drawdown_limit"),
        leverage=leverage, max_leverage=dec(limits.max_leverage) * dec(state.risk_multiplier),
        notional=notional, open_orders=len(state.open_orders),
        consecutive_losses=state.consecutive_losses,
        max_consecutive_losses=limits.max_consecutive_losses,
        risk_multiplier=state.risk_multiplier, realized_pnl=state.realized_pnl,
        unrealized_pnl=state.unrealized_pnl)
