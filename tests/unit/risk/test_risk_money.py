"""Exact money: the one division (an average price) is cut at a documented step, so
the ledger holds no 60-digit residue and a snapshot shows plain numbers."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from risk import RiskState, SymbolLimits, apply_fill, snapshot
from risk.money import MONEY_DECIMALS, money
from tests.unit.risk.risk_world import NOW, fill, limits, ready

MARKS = {"BTCUSDT": 50_000.0, "ETHUSDT": 100.0}


def places(value: Decimal | None) -> int:
    assert value is not None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent


def _averaged(**overrides: object) -> RiskState:
    lim = limits(**overrides)
    state = ready(lim, equity=1_000.0, marks=MARKS)
    for qty, price in ((1.0, 100.0), (2.0, 100.01)):  # average 300.02 / 3 = 100.00666...
        state, _ = apply_fill(state, fill("ETHUSDT", "buy", qty, price), lim, NOW)
    return state


def test_an_average_price_is_kept_at_the_price_step_and_equity_at_money_places() -> None:
    state = _averaged()
    assert state.positions["ETHUSDT"].avg_price == Decimal("100.00666667")
    assert state.equity == Decimal("999.97999999")  # 1000 + 3 * (100 - 100.00666667)
    assert places(state.equity) <= MONEY_DECIMALS


def test_a_symbol_may_keep_its_prices_at_fewer_places() -> None:
    state = _averaged(symbols={"BTCUSDT": SymbolLimits(),
                               "ETHUSDT": SymbolLimits(price_decimals=2)})
    assert state.positions["ETHUSDT"].avg_price == Decimal("100.01")
    assert state.equity == Decimal("999.97")


def test_the_snapshot_shows_short_numbers() -> None:
    lim = limits()
    state = _averaged()
    state, _ = apply_fill(state, fill("ETHUSDT", "sell", 1.5, 101.0, fee=0.0606), lim, NOW)
    snap = snapshot(state, lim, NOW)
    for figure in (snap.equity, snap.realized_pnl, snap.unrealized_pnl, snap.daily_loss,
                   snap.leverage, *snap.notional.values()):
        assert figure is not None and places(figure) <= MONEY_DECIMALS, figure
    body = msgspec.json.decode(msgspec.json.encode(snap))
    # cash 1000 + 1.5 * (101 - 100.00666667) = 1.489999995 -> 1.49 (half to even), less
    # the fee 0.0606; open PnL 1.5 * (100 - 100.00666667) = -0.010000005: 1001.419399995
    assert body["equity"] == "1001.4194"
    assert len(body["leverage"]) <= 8


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["buy", "sell"]),
                          st.decimals(min_value="0.001", max_value=5, places=3),
                          st.decimals(min_value=90, max_value=110, places=4),
                          st.decimals(min_value=0, max_value=1, places=6)),
                min_size=1, max_size=12))
def test_any_fills_leave_money_at_money_places(
        rows: list[tuple[str, Decimal, Decimal, Decimal]]) -> None:
    lim = limits(max_consecutive_losses=1_000)
    state = ready(lim, equity=1_000.0, marks=MARKS)
    for side, qty, price, fee in rows:
        state, _ = apply_fill(state, fill("ETHUSDT", side, float(qty), float(price),
                                          float(fee)), lim, NOW)
        assert state.cash is not None and state.cash == money(state.cash)
        assert state.realized_pnl == money(state.realized_pnl)
        assert places(state.equity) <= MONEY_DECIMALS
