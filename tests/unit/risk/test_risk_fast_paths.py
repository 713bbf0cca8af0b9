"""The shortcuts the order gate takes on every order agree with the long way round.

``decide`` shares one filtering of the open orders between the rules and the
recording, the loss rule measures only what it denies on, and equity is summed
with ``EXACT``'s own methods: each must give what the plain computation gives.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from risk import apply_decision, decide, evaluate
from risk.measures import first_reached, loss_measures
from risk.money import EXACT, money
from risk.state import PositionState, open_pnl
from tests.unit.risk.risk_world import NOW, limits, order, ready


def test_decide_records_what_evaluate_then_apply_decision_record() -> None:
    lim = limits(open_order_ttl_s=1.0, max_orders_per_second=100.0)
    state = ready(lim)
    for i in range(6):
        now = NOW + 0.3 * i  # past the ttl the first orders still reserve: nobody ended them
        o = order(qty=0.001)
        expected = apply_decision(state, o, evaluate(o, state, lim, now), lim, now)
        before = dict(state.open_orders)
        decision, after = decide(o, state, lim, now)
        assert decision.allowed
        assert msgspec.json.encode(after) == msgspec.json.encode(expected)
        assert state.open_orders == before  # the old state is left as it was
        state = after
    assert len(state.open_orders) == 6


def test_allow_reason_words_every_figure() -> None:
    lim = limits()
    allowed = evaluate(order(qty=0.01), ready(lim), lim, NOW)
    assert allowed.reason == ("BTCUSDT notional 500 USDT within 5000 USDT; "
                              "gross leverage 0.05x within 2x")
    halved = msgspec.structs.replace(ready(lim), risk_multiplier=0.5)
    allowed = evaluate(order(qty=0.01), halved, lim, NOW)
    assert allowed.reason == ("BTCUSDT notional 500 USDT within 2500 USDT; "
                              "gross leverage 0.05x within 1x")


_money = st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_money, _money, st.one_of(st.none(), _money)), max_size=4), _money)
def test_open_pnl_is_the_exact_sum(rows: list[tuple[Decimal, Decimal, Decimal | None]],
                                   cash: Decimal) -> None:
    positions = {f"S{i}": PositionState(qty=q / 7, avg_price=a, mark_price=m)
                 for i, (q, a, m) in enumerate(rows)}
    with localcontext(EXACT):
        expected = sum((p.qty * (p.mark_price - p.avg_price) for p in positions.values()
                        if p.qty and p.mark_price is not None), Decimal(0))
    assert open_pnl(positions) == expected
    state = msgspec.structs.replace(ready(), positions=positions, cash=cash)
    with localcontext(EXACT):
        assert state.equity == money(cash + expected)  # kept at MONEY_DECIMALS places


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=8_000, max_value=13_000, places=2),
       st.decimals(min_value=10_000, max_value=12_000, places=2),
       st.decimals(min_value=0, max_value=2_000, places=2))
def test_first_reached_is_the_first_breached_measure(cash: Decimal, high: Decimal,
                                                     above: Decimal) -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim), cash=cash, high_water=high, peak=high + above)
    breached = [m for m in loss_measures(state, lim) if m.breached]
    found = first_reached(state, lim, state.equity)
    if not breached:
        assert found is None
    else:
        assert found == breached[0]
        assert found.reason == breached[0].reason
