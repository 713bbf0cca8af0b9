"""The trading state machine: auto-halt, forced close, rollover, resume, restart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from risk import (
    RiskLimits,
    RiskState,
    after_restart,
    apply_fill,
    apply_heartbeat,
    check_limits,
    evaluate,
    halt,
    initial_state,
    resume,
    roll_day,
    set_risk_multiplier,
)
from risk.messages import (
    CloseAllRequested,
    DayRolled,
    FlatConfirmed,
    LimitTripped,
    ManualCloseFlagged,
    RiskAnomalyDetected,
    RiskMultiplierChanged,
    TradingStateChanged,
)
from tests.unit.risk.risk_world import MIDNIGHT, NOW, fill, heartbeat, limits, order, ready

ETH = {"ETHUSDT": (2.0, 2_500.0)}


def beat(state: RiskState, lim: RiskLimits, now: float, eth_mark: float = 2_500.0,
         eth_qty: float = 2.0, equity: float | None = None) -> tuple[RiskState, list[Any]]:
    """A heartbeat from a bot holding ``eth_qty`` ETH bought at 2500, marked at ``eth_mark``."""
    if equity is None:
        equity = 10_000.0 + eth_qty * (eth_mark - 2_500.0)
    hb = heartbeat(equity, {"ETHUSDT": (eth_qty, 2_500.0)} if eth_qty else None,
                   {"BTCUSDT": 50_000.0, "ETHUSDT": eth_mark}, tick_ts=now, ts=now)
    state, events = apply_heartbeat(state, hb, lim, now)
    return state, events


def types(events: list[Any]) -> list[type]:
    return [type(e) for e in events]


def test_first_heartbeat_anchors_the_ledger_and_activates() -> None:
    lim = limits()
    state = initial_state(lim, NOW)
    assert state.trading_state == "REDUCING"
    state, events = beat(state, lim, NOW, eth_mark=2_600.0)
    assert state.trading_state == "ACTIVE"
    assert state.positions["ETHUSDT"].qty == Decimal("2.0")
    assert state.equity == state.start_equity == state.high_water == state.peak == Decimal(10_200)
    change = [e for e in events if isinstance(e, TradingStateChanged)]
    assert [(c.previous, c.current) for c in change] == [("REDUCING", "ACTIVE")]


def test_daily_loss_halts_and_commands_close_all() -> None:
    lim = limits()
    state = ready(lim, positions=ETH, marks={"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0})
    state, events = beat(state, lim, NOW + 1, eth_mark=2_350.05)  # loss 299.90
    assert state.trading_state == "ACTIVE" and not events
    state, events = beat(state, lim, NOW + 2, eth_mark=2_350.0)  # loss 300 = 3%
    assert state.trading_state == "HALTED"
    assert types(events) == [LimitTripped, CloseAllRequested, TradingStateChanged]
    tripped = events[0]
    assert (tripped.code, tripped.action) == ("daily_loss_limit", "close_all")
    assert "daily loss 300 USDT has reached max_daily_loss 300 USDT" in tripped.reason
    assert events[1].deadline_ts == NOW + 2 + lim.close_timeout_s
    assert events[2].by == "limits" and events[2].cause == "daily_loss_limit"
    denied = evaluate(order(), state, lim, NOW + 2)
    assert denied.code == "halted" and "daily loss 300 USDT" in denied.reason
    closing = order("ETHUSDT", "sell", 2.0, 2_350.0, reduce_only=True)
    assert evaluate(closing, state, lim, NOW + 2).allowed
    again, more = check_limits(state, lim, NOW + 3)
    assert more == [] and again.reasons == state.reasons  # tripping is idempotent


def test_close_timeout_flags_manual_close_and_a_flat_beat_clears_it() -> None:
    lim = limits(close_timeout_s=30.0)
    state = ready(lim, positions=ETH)
    state, _ = beat(state, lim, NOW + 1, eth_mark=2_300.0)
    assert state.close_requested_at == NOW + 1
    state, events = check_limits(state, lim, NOW + 30.9)
    assert not state.manual_close_needed and events == []
    state, events = beat(state, lim, NOW + 31, eth_mark=2_300.0)
    assert state.manual_close_needed
    flagged = [e for e in events if isinstance(e, ManualCloseFlagged)]
    assert flagged and flagged[0].positions == {"ETHUSDT": Decimal("2.0")}
    assert "close_timeout_s 30" in flagged[0].reason
    state, _ = apply_fill(state, fill("ETHUSDT", "sell", 2.0, 2_300.0), lim, NOW + 32)
    state, events = beat(state, lim, NOW + 33, eth_mark=2_300.0, eth_qty=0.0,
                         equity=9_600.0)
    assert FlatConfirmed in types(events)
    assert not state.manual_close_needed and state.close_requested_at is None
    assert state.trading_state == "HALTED"  # the day stays halted


def test_flag_manual_close_flags_at_once() -> None:
    lim = limits(on_loss_halt="flag_manual_close")
    state = ready(lim, positions=ETH)
    state, events = beat(state, lim, NOW + 1, eth_mark=2_300.0)
    assert types(events) == [LimitTripped, ManualCloseFlagged, TradingStateChanged]
    assert events[0].action == "flag_manual_close"
    assert state.manual_close_needed and state.close_requested_at is None


def test_a_flat_book_is_halted_without_a_close() -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim), cash=Decimal(9_400))
    state, events = check_limits(state, lim, NOW)
    assert types(events) == [LimitTripped, LimitTripped, TradingStateChanged]
    assert [e.action for e in events[:2]] == ["halt", "halt"]
    assert {e.code for e in events[:2]} == {"daily_loss_limit", "drawdown_limit"}


def test_drawdown_from_the_intraday_high_water_mark() -> None:
    lim = limits(max_daily_loss={"pct": 50}, max_drawdown={"usdt": 400})
    lim = msgspec.convert(msgspec.to_builtins(lim), RiskLimits)
    state = ready(lim, positions=ETH)
    state, _ = beat(state, lim, NOW + 1, eth_mark=2_700.0)  # equity 10400, new high
    assert state.high_water == Decimal(10_400)
    state, events = beat(state, lim, NOW + 2, eth_mark=2_500.5)  # drawdown 399
    assert state.trading_state == "ACTIVE"
    state, events = beat(state, lim, NOW + 3, eth_mark=2_500.0)  # drawdown 400
    assert state.trading_state == "HALTED"
    assert events[0].code == "drawdown_limit"
    assert "drawdown 400 USDT has reached max_drawdown 400 USDT (fixed amount)" in \
        events[0].reason


def test_consecutive_losses_halt_without_closing() -> None:
    lim = limits(max_consecutive_losses=2)
    state = ready(lim)
    for i in range(2):
        state, _ = apply_fill(state, fill("ETHUSDT", "buy", 0.1, 2_500.0), lim, NOW + i)
        state, events = apply_fill(state, fill("ETHUSDT", "sell", 0.1, 2_499.0), lim, NOW + i)
    assert state.trading_state == "HALTED"
    assert types(events) == [LimitTripped, TradingStateChanged]
    assert events[0].action == "halt" and events[0].code == "consecutive_losses"


def test_rollover_ends_a_day_halt_once_flat() -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim), cash=Decimal(9_650))
    state, _ = check_limits(state, lim, NOW)
    assert state.trading_state == "HALTED"
    state, events = roll_day(state, lim, MIDNIGHT)
    assert types(events) == [DayRolled, TradingStateChanged]
    assert (events[0].previous_day, events[0].day) == ("2024-05-01", "2024-05-02")
    assert state.trading_state == "ACTIVE" and state.start_equity is None
    assert evaluate(order(), state, lim, MIDNIGHT).code == "no_equity"
    state, _ = apply_heartbeat(state, heartbeat(9_650.0, tick_ts=MIDNIGHT + 1), lim,
                               MIDNIGHT + 1)
    assert state.start_equity == Decimal(9_650) and state.realized_pnl == 0
    assert evaluate(order(), state, lim, MIDNIGHT + 1).allowed


def test_rollover_carries_a_halt_over_while_the_close_is_unconfirmed() -> None:
    lim = limits()
    state = ready(lim, positions=ETH)
    state, _ = beat(state, lim, NOW + 1, eth_mark=2_300.0)
    assert state.close_requested_at is not None
    state, _ = roll_day(state, lim, MIDNIGHT)
    assert state.trading_state == "HALTED"
    state, events = beat(state, lim, MIDNIGHT + 1, eth_mark=2_300.0, eth_qty=0.0,
                         equity=9_600.0)
    assert FlatConfirmed in types(events)
    assert state.trading_state == "ACTIVE"
    assert state.start_equity is not None


def test_sticky_halts_survive_the_rollover() -> None:
    lim = limits()
    state, _ = halt(ready(lim), "checking the exchange", NOW)
    trailing = msgspec.structs.replace(ready(lim), peak=Decimal(12_000))
    trailing, _ = check_limits(trailing, lim, NOW)
    streak = msgspec.structs.replace(ready(lim), consecutive_losses=6)
    streak, _ = check_limits(streak, lim, NOW)
    for halted in (state, trailing, streak):
        assert halted.trading_state == "HALTED"
        rolled, _ = roll_day(halted, lim, MIDNIGHT + 5)
        assert rolled.trading_state == "HALTED", rolled.reasons


def test_resume_rearms_the_tripped_limits_from_the_equity_of_now() -> None:
    lim = limits()
    state = ready(lim, positions=ETH)
    state, _ = beat(state, lim, NOW + 1, eth_mark=2_300.0)  # equity 9600, halted
    state, events = resume(state, "reviewed, market is calm", lim, NOW + 2)
    assert state.trading_state == "ACTIVE"
    assert events[0].by == "human" and "reviewed" in events[0].cause
    assert state.start_equity == Decimal(9_600) and state.close_requested_at is None
    assert state.peak == Decimal(10_000)  # the trailing drawdown had not tripped
    state, events = beat(state, lim, NOW + 3, eth_mark=2_300.0)
    assert state.trading_state == "ACTIVE" and events == []
    state, events = beat(state, lim, NOW + 4, eth_mark=2_156.0)  # 288 more: 3% of 9600
    assert state.trading_state == "HALTED"


def test_resume_does_not_skip_the_first_heartbeat() -> None:
    lim = limits()
    state, _ = resume(initial_state(lim, NOW), "go", lim, NOW)
    assert state.trading_state == "REDUCING"


def test_restart_waits_for_a_heartbeat_that_agrees() -> None:
    lim = limits()
    saved = msgspec.json.encode(ready(lim, positions=ETH))
    state = msgspec.json.decode(saved, type=RiskState)
    state, events = after_restart(state, lim, NOW + 10)
    assert state.trading_state == "REDUCING"
    assert evaluate(order(), state, lim, NOW + 10).code == "reducing_only"
    state, events = beat(state, lim, NOW + 11)
    assert state.trading_state == "ACTIVE"
    assert not any(isinstance(e, RiskAnomalyDetected) for e in events)


def test_restart_mismatch_is_an_anomaly_and_holds_reducing_until_resumed() -> None:
    lim = limits()
    state, _ = after_restart(ready(lim, positions=ETH), lim, NOW + 10)
    state, events = beat(state, lim, NOW + 11, eth_qty=3.0)
    anomaly = [e for e in events if isinstance(e, RiskAnomalyDetected)]
    assert anomaly and anomaly[0].kind == "position_mismatch"
    assert "ETHUSDT ledger 2 vs bot 3" in anomaly[0].detail
    assert state.trading_state == "REDUCING"
    assert state.positions["ETHUSDT"].qty == Decimal("3.0")  # the bot's view is taken
    state, _ = beat(state, lim, NOW + 12, eth_qty=3.0)
    assert state.trading_state == "REDUCING"
    state, _ = resume(state, "positions checked on the exchange", lim, NOW + 13)
    assert state.trading_state == "ACTIVE"


def test_a_halted_day_stays_halted_across_a_restart() -> None:
    lim = limits()
    state = ready(lim, positions=ETH)
    state, _ = beat(state, lim, NOW + 1, eth_mark=2_300.0)
    restored = msgspec.msgpack.decode(msgspec.msgpack.encode(state), type=RiskState)
    assert restored == state
    restored, _ = after_restart(restored, lim, NOW + 100)
    restored, _ = beat(restored, lim, NOW + 101, eth_mark=2_400.0)
    assert restored.trading_state == "HALTED"
    assert restored.start_equity == Decimal(10_000)  # the daily loss did not reset


def test_an_ongoing_mismatch_needs_the_grace_time() -> None:
    lim = limits()
    state = ready(lim, positions=ETH)
    state, events = beat(state, lim, NOW + 1, eth_qty=2.5)
    assert events == [] and state.reconciliation.position_mismatch_since == NOW + 1
    state, events = beat(state, lim, NOW + 2, eth_qty=2.0)  # a fill and a beat crossed
    assert events == [] and state.reconciliation.position_mismatch_since is None
    state, _ = beat(state, lim, NOW + 3, eth_qty=2.5)
    state, events = beat(state, lim, NOW + 3 + lim.reconcile.grace_s, eth_qty=2.5)
    assert types(events) == [RiskAnomalyDetected, TradingStateChanged]
    assert state.trading_state == "REDUCING"


def test_equity_disagreement_is_reported_once() -> None:
    lim = limits()
    state = ready(lim)
    seen = []
    for i in range(10):
        state, events = apply_heartbeat(state, heartbeat(10_100.0, tick_ts=NOW + i), lim, NOW + i)
        seen += [e for e in events if isinstance(e, RiskAnomalyDetected)]
    assert len(seen) == 1 and seen[0].kind == "equity_mismatch"
    assert "bot equity 10100 USDT vs ledger equity 10000 USDT" in seen[0].detail
    assert state.trading_state == "ACTIVE"  # the ledger decides; the bot's number is a hint


def test_an_impossible_heartbeat_is_refused_whole() -> None:
    lim = limits()
    state = ready(lim)
    bad = heartbeat(float("nan"))
    after, events = apply_heartbeat(state, bad, lim, NOW)
    assert after is state and types(events) == [RiskAnomalyDetected]


def test_risk_multiplier_within_bounds() -> None:
    lim = limits()
    state, events = set_risk_multiplier(ready(lim), 0.5, "moderator: reduce risk", lim, NOW)
    assert state.risk_multiplier == 0.5 and types(events) == [RiskMultiplierChanged]
    for bad in (0.05, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"outside its bounds \[0.1, 1\]"):
            set_risk_multiplier(state, bad, "x", lim, NOW)


def test_day_boundary_follows_the_configured_offset() -> None:
    lim = limits(timezone="UTC+03:00")
    state = initial_state(lim, NOW)  # 15:00 in UTC+3
    assert state.day == "2024-05-01"
    same, events = roll_day(state, lim, MIDNIGHT - 3 * 3600 - 1)
    assert same is state and events == []
    rolled, _ = roll_day(state, lim, MIDNIGHT - 3 * 3600)
    assert rolled.day == "2024-05-02"
    back, _ = roll_day(rolled, lim, NOW)  # a clock going back does not un-roll
    assert back is rolled
