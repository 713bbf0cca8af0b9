"""The ledger: positions, realised PnL, fees, the loss streak and reservations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk import apply_fill, apply_mark, decide
from risk.ledger import apply_fill as book
from risk.messages import RiskAnomalyDetected
from risk.money import FINEST_PLACES, ZERO, dec
from risk.state import PositionState, RiskState
from tests.unit.risk.risk_world import NOW, fill, limits, order, ready

D = Decimal
STEP = D("1E-8")


def _fills(state: RiskState, *rows: tuple[str, float, float, float]) -> RiskState:
    lim = limits(max_consecutive_losses=100)
    for side, qty, price, fee in rows:
        state, _ = apply_fill(state, fill("ETHUSDT", side, qty, price, fee), lim, NOW)
    return state


def test_average_cost_partial_close_and_flip() -> None:
    pos = PositionState()
    pos = book(pos, "buy", D(1), D(100), D(0), STEP).position
    pos = book(pos, "buy", D(1), D(110), D(0), STEP).position
    assert (pos.qty, pos.avg_price) == (D(2), D(105))
    partial = book(pos, "sell", D("0.5"), D(120), D(0), STEP)
    assert partial.cash_delta == D("7.5")
    assert partial.closed_trade_pnl is None
    flip = book(partial.position, "sell", D(2), D(90), D(1), STEP)
    assert flip.cash_delta == D("-22.5") - 1  # 1.5 closed at 90 against 105, fee 1
    assert flip.closed_trade_pnl == D("7.5") - D("22.5") - 1
    assert (flip.position.qty, flip.position.avg_price) == (D("-0.5"), D(90))
    assert flip.position.trade_pnl == 0  # the new short starts a new trade


def test_short_round_trip_pnl() -> None:
    pos = book(PositionState(), "sell", D(2), D(100), D(0), STEP).position
    done = book(pos, "buy", D(2), D(90), D("0.4"), STEP)
    assert done.closed_trade_pnl == D("19.6")
    assert done.position.qty == 0 and done.position.avg_price == 0


def test_decimal_fills_close_exactly() -> None:
    state = _fills(ready(limits()), ("buy", 0.3, 2500, 0), ("sell", 0.1, 2500, 0),
                   ("sell", 0.1, 2500, 0), ("sell", 0.1, 2500, 0))
    assert state.positions["ETHUSDT"].qty == 0  # 0.3 - 0.1 - 0.1 - 0.1, no float dust
    assert state.is_flat


def test_equity_and_realized_pnl_follow_fills() -> None:
    state = _fills(ready(limits()), ("buy", 1, 2500, 1), ("sell", 1, 2600, 1))
    assert state.realized_pnl == D(98)
    assert state.equity == D(10_098)
    assert state.consecutive_losses == 0


def test_fees_can_make_a_winning_price_a_losing_trade() -> None:
    state = _fills(ready(limits()), ("buy", 1, 2500, 2), ("sell", 1, 2501, 2))
    assert state.consecutive_losses == 1


def test_streak_counts_losses_in_a_row_and_a_win_resets_it() -> None:
    state = ready(limits())
    for _ in range(3):
        state = _fills(state, ("buy", 1, 2500, 0), ("sell", 1, 2490, 0))
    assert state.consecutive_losses == 3
    state = _fills(state, ("sell", 1, 2500, 0), ("buy", 1, 2490, 0))
    assert state.consecutive_losses == 0


def test_partial_closes_do_not_count_until_the_trade_is_flat() -> None:
    state = _fills(ready(limits()), ("buy", 2, 2500, 0), ("sell", 1, 2400, 0))
    assert state.consecutive_losses == 0
    state = _fills(state, ("sell", 1, 2700, 0))
    assert state.consecutive_losses == 0  # -100 + 200: the trade won
    assert state.realized_pnl == D(100)


def test_unrealized_pnl_uses_the_marks() -> None:
    state = ready(limits(), positions={"ETHUSDT": (2.0, 2_400.0)})
    assert state.unrealized_pnl == D(200)
    assert state.equity == D(10_000)  # the heartbeat's equity anchors the ledger
    marked = apply_mark(state, "ETHUSDT", 2_300.0, NOW + 1)
    assert marked.equity == D(9_600)  # 2 ETH x 200 lower
    assert marked.positions["ETHUSDT"].mark_ts == NOW + 1
    assert apply_mark(state, "ETHUSDT", float("nan"), NOW) is state


def test_a_fill_releases_its_reservation() -> None:
    lim = limits()
    state = ready(lim)
    decision, state = decide(order(qty=0.04, request_id="o1"), state, lim, NOW)
    assert decision.allowed and state.open_orders["o1"].qty == D("0.04")
    state, _ = apply_fill(state, fill(qty=0.01, request_id="o1"), lim, NOW)
    assert state.open_orders["o1"].qty == D("0.03")
    state, _ = apply_fill(state, fill(qty=0.03, request_id="o1"), lim, NOW)
    assert "o1" not in state.open_orders
    assert state.positions["BTCUSDT"].qty == D("0.04")
    state, _ = apply_fill(state, fill(qty=0.01, request_id="unknown"), lim, NOW)
    assert state.positions["BTCUSDT"].qty == D("0.05")


def test_a_fill_in_an_unmarked_symbol_takes_its_price_as_mark() -> None:
    lim = limits()
    state, _ = apply_fill(ready(lim), fill("SOLUSDT", "buy", 10, 150), lim, NOW)
    pos = state.positions["SOLUSDT"]
    assert pos.mark_price == D(150) and pos.mark_ts is None


@pytest.mark.parametrize(("qty", "price", "fee"), [
    (float("nan"), 1.0, 0.0), (1.0, 0.0, 0.0), (1.0, float("inf"), 0.0),
    (-1.0, 1.0, 0.0), (1.0, 1.0, float("nan")),
])
def test_an_impossible_fill_is_refused_with_an_anomaly(qty: float, price: float,
                                                        fee: float) -> None:
    lim = limits()
    state = ready(lim)
    after, events = apply_fill(state, fill(qty=qty, price=price, fee=fee), lim, NOW)
    assert after is state
    assert [type(e) for e in events] == [RiskAnomalyDetected]
    assert events[0].kind == "invalid_fill"


def test_a_fill_without_a_symbol_is_refused() -> None:
    lim = limits()
    state = ready(lim)
    after, events = apply_fill(state, fill(symbol=""), lim, NOW)
    assert after is state and isinstance(events[0], RiskAnomalyDetected)


def test_a_fill_at_the_smallest_float_price_is_booked_not_raised() -> None:
    """A fuzzed or buggy bot's price of 5e-324 once made the average-price step 324
    places finer than EXACT can cut at: the engine crashed on the fill until it gave up."""
    held = PositionState(qty=dec(0.001), avg_price=dec(50_000.0), mark_price=None,
                         mark_ts=0.0, trade_pnl=ZERO)
    for price in (5e-324, 1.2345e-40):
        result = book(held, "buy", dec(0.001), dec(price), ZERO)
        exponent = result.position.avg_price.as_tuple().exponent
        assert isinstance(exponent, int) and exponent >= -FINEST_PLACES
        assert result.position.avg_price == dec(25_000.0)
