"""A resume re-arms every limit that had tripped, even one the equity has since
climbed back within: measured from the equity at the resume, not the old base."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from risk import RiskLimits, RiskState, apply_fill, apply_heartbeat, check_limits, evaluate, resume
from risk.messages import CloseAllRequested, LimitTripped
from tests.unit.risk.risk_world import NOW, fill, heartbeat, limits, order, ready

ETH = {"ETHUSDT": (2.0, 2_500.0)}


def _limits(**overrides: Any) -> RiskLimits:
    base = limits(**overrides)
    return msgspec.convert(msgspec.to_builtins(base), RiskLimits)  # LossLimit from plain maps


def beat(state: RiskState, lim: RiskLimits, now: float, eth_mark: float) -> RiskState:
    """The bot holds 2 ETH bought at 2500: equity is 10000 + 2 * (mark - 2500)."""
    hb = heartbeat(10_000.0 + 2 * (eth_mark - 2_500.0), ETH,
                   {"BTCUSDT": 50_000.0, "ETHUSDT": eth_mark}, tick_ts=now, ts=now)
    state, _ = apply_heartbeat(state, hb, lim, now)
    return state


def test_a_drawdown_that_recovered_before_the_resume_is_measured_from_the_resume() -> None:
    """The issue's case: high-water 10,200, halted at 10,100, resumed at 10,104."""
    lim = _limits(max_drawdown={"usdt": 100}, max_daily_loss={"pct": 50})
    state = ready(lim, positions=ETH)
    state = beat(state, lim, NOW + 1, 2_600.0)  # equity 10,200: the day's high
    state = beat(state, lim, NOW + 2, 2_550.0)  # drawdown 100: halted
    assert state.trading_state == "HALTED" and state.high_water == Decimal(10_200)
    state = beat(state, lim, NOW + 3, 2_552.0)  # 10,104: drawdown 96, still halted
    state, _ = resume(state, "reviewed", lim, NOW + 4)
    assert state.trading_state == "ACTIVE"
    assert state.high_water == Decimal(10_104)
    state = beat(state, lim, NOW + 5, 2_548.0)  # 10,096: 8 below the re-armed mark
    assert state.trading_state == "ACTIVE", state.reasons
    assert evaluate(order(qty=0.01), state, lim, NOW + 5).allowed
    state = beat(state, lim, NOW + 6, 2_502.0)  # 10,004: 100 below 10,104, halts again
    assert state.trading_state == "HALTED"


def test_every_tripped_loss_limit_is_re_armed_and_no_other() -> None:
    lim = _limits(max_daily_loss={"usdt": 150}, max_drawdown={"usdt": 1_000},
                  max_trailing_drawdown={"usdt": 150})
    state = ready(lim, positions=ETH)
    state = beat(state, lim, NOW + 1, 2_420.0)  # 9,840: daily loss and trailing 160
    assert {"daily_loss_limit", "trailing_drawdown_limit"} <= state.reason_codes()
    state = beat(state, lim, NOW + 2, 2_450.0)  # 9,900: both back within their lines
    state, _ = resume(state, "reviewed", lim, NOW + 3)
    assert (state.start_equity, state.peak) == (Decimal(9_900), Decimal(9_900))
    assert state.high_water == Decimal(10_000)  # the drawdown had not tripped
    state = beat(state, lim, NOW + 4, 2_430.0)  # 9,860: 40 below the new bases
    assert state.trading_state == "ACTIVE", state.reasons


def test_a_tripped_loss_streak_starts_again_after_the_resume() -> None:
    lim = _limits(max_consecutive_losses=2)
    state = ready(lim)
    for i in range(2):
        state, _ = apply_fill(state, fill("ETHUSDT", "buy", 0.1, 2_500.0), lim, NOW + i)
        state, _ = apply_fill(state, fill("ETHUSDT", "sell", 0.1, 2_499.0), lim, NOW + i)
    assert "consecutive_losses" in state.reason_codes()
    state, _ = resume(state, "reviewed", lim, NOW + 3)
    assert state.consecutive_losses == 0 and state.trading_state == "ACTIVE"


def test_a_resume_after_a_recovered_halt_sends_no_second_close_all() -> None:
    """Seen in the field: re-halts seconds after a confirmed resume, each with a close_all."""
    lim = _limits(max_drawdown={"usdt": 100}, max_daily_loss={"pct": 50})
    state = ready(lim, positions=ETH)
    state = beat(state, lim, NOW + 1, 2_600.0)
    state = beat(state, lim, NOW + 2, 2_550.0)
    state = beat(state, lim, NOW + 3, 2_552.0)
    state, _ = resume(state, "reviewed", lim, NOW + 4)
    hb = heartbeat(10_096.0, ETH, {"BTCUSDT": 50_000.0, "ETHUSDT": 2_548.0}, tick_ts=NOW + 5,
                   ts=NOW + 5)
    state, events = apply_heartbeat(state, hb, lim, NOW + 5)
    state, more = check_limits(state, lim, NOW + 6)
    assert not [e for e in events + more if isinstance(e, LimitTripped | CloseAllRequested)]
