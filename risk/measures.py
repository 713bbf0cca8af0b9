"""The loss measures that halt trading: daily loss, drawdown, trailing drawdown.

Shared by the pre-trade rules, the auto-halt check and the status snapshot, so
that all three quote the same numbers in the same words.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, NamedTuple

import msgspec

from bus.protocol import RiskCode
from risk.limits import LossLimit, RiskLimits
from risk.money import ZERO, usdt
from risk.state import RiskState


class LossMeasure(msgspec.Struct, frozen=True, kw_only=True):
    """One measured loss against its limit; ``code`` is the stable decision code."""

    code: RiskCode
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
        return reached(self.value, self.limit)

    @property
    def reason(self) -> str:
        """``daily loss 512.40 USDT has reached max_daily_loss 500 USDT (...)``."""
        verb = "has reached" if self.breached else "is within"
        return (f"{self.label} {usdt(self.value)} {verb} {self.key} {usdt(self.limit)} "
                f"({self.basis})")


class _Kind(NamedTuple):
    """The words and the scope of one loss measure."""

    code: RiskCode
    key: str
    label: str
    base_name: str
    scope: str


_DAILY: Final = _Kind("daily_loss_limit", "max_daily_loss", "daily loss",
                      "start-of-day equity", "day")
_DRAWDOWN: Final = _Kind("drawdown_limit", "max_drawdown", "drawdown",
                         "today's high-water mark", "day")
_TRAILING: Final = _Kind("trailing_drawdown_limit", "max_trailing_drawdown",
                         "trailing drawdown", "equity peak", "sticky")


def _losses(state: RiskState, limits: RiskLimits, equity: Decimal
            ) -> list[tuple[_Kind, Decimal, LossLimit, Decimal, Decimal]]:
    """(kind, base, rule, loss, limit) of each measure with a base, in the order
    they are checked: the loss from the base down to ``equity``, and its limit."""
    found = []
    for kind, base, rule in ((_DAILY, state.start_equity, limits.max_daily_loss),
                             (_DRAWDOWN, state.high_water, limits.max_drawdown),
                             (_TRAILING, state.peak, limits.max_trailing_drawdown)):
        if base is not None:
            loss = base - equity
            found.append((kind, base, rule, loss if loss > ZERO else ZERO,  # max(ZERO, loss)
                          rule.amount(base)))
    return found


def _measure(kind: _Kind, base: Decimal, rule: LossLimit, loss: Decimal,
             limit: Decimal) -> LossMeasure:
    return LossMeasure(code=kind.code, key=kind.key, label=kind.label, value=loss, limit=limit,
                       base=base, base_name=kind.base_name, rule=rule, scope=kind.scope)


def loss_measures(state: RiskState, limits: RiskLimits) -> list[LossMeasure]:
    """Every loss measure that can be computed now (none before the first heartbeat)."""
    equity = state.equity
    if equity is None:
        return []
    return [_measure(*figures) for figures in _losses(state, limits, equity)]


def first_reached(state: RiskState, limits: RiskLimits,
                  equity: Decimal | None) -> LossMeasure | None:
    """The first loss limit reached at ``equity``, measured as ``loss_measures`` does.

    For the order gate, which has the equity already and asks on every order:
    the ``LossMeasure`` is only built for the limit it denies on. All three are
    still measured, so a measure that cannot be computed fails as it always did.
    """
    if equity is None:
        return None
    for figures in _losses(state, limits, equity):
        if reached(figures[3], figures[4]):
            return _measure(*figures)
    return None


def reached(loss: Decimal, limit: Decimal) -> bool:
    """Loss limits trip on reaching the limit, not only on passing it."""
    return loss >= limit
