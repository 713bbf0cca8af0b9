"""The loss measures that halt trading: daily loss, drawdown, trailing drawdown.

Shared by the pre-trade rules, the auto-halt check and the status snapshot, so
that all three quote the same numbers in the same words.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from risk.limits import LossLimit, RiskLimits
from risk.money import ZERO, usdt
from risk.state import RiskState


class LossMeasure(msgspec.Struct, frozen=True, kw_only=True):
    """One measured loss against its limit; ``code`` is the stable decision code."""

    code: str
    key: str
    label: str
    value: Decimal
    limit: Decimal
    base: Decimal
    base_name: str
    rule: LossLimit
    scope: str
    """``day``: forgiven at the day rollover; ``sticky``: only a person resets it."""

    @property
    def basis(self) -> str:
        """Worded only when a reason is needed: most orders never ask."""
        return self.rule.basis(self.base, self.base_name)

    @property
    def breached(self) -> bool:
        """Loss limits trip on reaching the limit, not only on passing it."""
        return self.value >= self.limit

    @property
    def reason(self) -> str:
        """``daily loss 512.40 USDT has reached max_daily_loss 500 USDT (...)``."""
        verb = "has reached" if self.breached else "is within"
        return (f"{self.label} {usdt(self.value)} {verb} {self.key} {usdt(self.limit)} "
                f"({self.basis})")


def _measure(code: str, key: str, label: str, base: Decimal | None, equity: Decimal | None,
             limit: LossLimit, base_name: str, scope: str) -> LossMeasure | None:
    if base is None or equity is None:
        return None
    return LossMeasure(code=code, key=key, label=label, value=max(ZERO, base - equity),
                       limit=limit.amount(base), base=base, base_name=base_name, rule=limit,
                       scope=scope)


def loss_measures(state: RiskState, limits: RiskLimits) -> list[LossMeasure]:
    """Every loss measure that can be computed now (none before the first heartbeat)."""
    equity = state.equity
    found = [
        _measure("daily_loss_limit", "max_daily_loss", "daily loss", state.start_equity, equity,
                 limits.max_daily_loss, "start-of-day equity", "day"),
        _measure("drawdown_limit", "max_drawdown", "drawdown", state.high_water, equity,
                 limits.max_drawdown, "today's high-water mark", "day"),
        _measure("trailing_drawdown_limit", "max_trailing_drawdown", "trailing drawdown",
                 state.peak, equity, limits.max_trailing_drawdown, "equity peak", "sticky"),
    ]
    return [m for m in found if m is not None]
