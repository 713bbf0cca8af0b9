"""The compact summary of the risk state that the tap and ``kernel status`` show."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from risk.limits import RiskLimits
from risk.measures import loss_measures
from risk.messages import RiskStateSnapshot
from risk.money import EXACT, MONEY_STEP, ONE, RATIO_STEP, ZERO, at_step, dec
from risk.multiplier import setting, until
from risk.reasons import views
from risk.state import RiskState


def shown(value: Decimal, step: Decimal = MONEY_STEP) -> Decimal:
    """``value`` at ``step`` (money by default), without trailing zeros or an
    exponent: ``977.79246``, ``10000``; so ``status --json`` prints plain numbers."""
    cut = at_step(value, step)
    if cut == cut.to_integral_value():
        return cut.quantize(ONE) + ZERO  # 10000, and 0 rather than -0
    return cut.normalize(EXACT)


def _maybe(value: Decimal | None, step: Decimal = MONEY_STEP) -> Decimal | None:
    return None if value is None else shown(value, step)


def snapshot(state: RiskState, limits: RiskLimits, now: float) -> RiskStateSnapshot:
    """Numbers a person checks first: the state and why, the losses against their
    limits, leverage, and the notional held in each symbol (at the marks). Money
    is shown at ``MONEY_DECIMALS`` places and ratios at four."""
    measures = {m.code: m for m in loss_measures(state, limits)}
    notional = {s: abs(p.qty) * p.mark_price for s, p in sorted(state.positions.items())
                if p.qty and p.mark_price is not None}
    equity = state.equity
    leverage = None
    if equity is not None and equity > 0:
        leverage = shown(sum(notional.values(), Decimal(0)) / equity, RATIO_STEP)

    def value(code: str) -> Decimal | None:
        return shown(measures[code].value) if code in measures else None

    def limit(code: str) -> Decimal | None:
        return shown(measures[code].limit) if code in measures else None

    return RiskStateSnapshot(
        ts=now, day=state.day, trading_state=state.trading_state, reasons=views(state),
        manual_close_needed=state.manual_close_needed,
        close_requested=state.close_requested_at is not None, equity=_maybe(equity),
        start_equity=_maybe(state.start_equity),
        daily_loss=value("daily_loss_limit"), max_daily_loss=limit("daily_loss_limit"),
        drawdown=value("drawdown_limit"), max_drawdown=limit("drawdown_limit"),
        trailing_drawdown=value("trailing_drawdown_limit"),
        max_trailing_drawdown=limit("trailing_drawdown_limit"),
        leverage=leverage,
        max_leverage=shown(dec(limits.max_leverage) * dec(state.risk_multiplier), RATIO_STEP),
        notional={s: shown(n) for s, n in notional.items()}, open_orders=len(state.open_orders),
        consecutive_losses=state.consecutive_losses,
        max_consecutive_losses=limits.max_consecutive_losses,
        risk_multiplier=state.risk_multiplier, realized_pnl=shown(state.realized_pnl),
        unrealized_pnl=shown(state.unrealized_pnl), **_multiplier(state, limits))


def _multiplier(state: RiskState, limits: RiskLimits) -> dict[str, Any]:
    """Who set the risk multiplier, why, since when and until when (``risk.multiplier``)."""
    who = setting(state, limits)
    return {"risk_multiplier_by": who.by, "risk_multiplier_reason": who.reason,
            "risk_multiplier_since": who.ts or None,
            "risk_multiplier_until": until(state, limits)}
