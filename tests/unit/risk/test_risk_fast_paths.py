"""The shortcuts the order gate takes on every order agree with the long way round.

``decide`` shares one filtering of the open orders between the rules and the
recording, the loss rule measures only what it denies on, and equity is summed
with ``EXACT``'s own methods: each must give what the plain computation gives.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from risk import apply_decision, decide, evaluate
from risk.days import day_of, day_span
from risk.measures import first_reached, loss_measures
from risk.money import EXACT, money
from risk.state import PositionState, RiskState, carry_figures, open_pnl
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


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 4e9), st.sampled_from([0, 3600, -18_000, 19_800, 50_400, -43_200]))
def test_day_span_holds_exactly_the_times_day_of_puts_in_the_day(now: float, offset: int) -> None:
    day = day_of(now, offset)
    span = day_span(day, offset)
    assert span is not None
    start, end = span
    assert start <= now < end
    for edge in (start, end, math.nextafter(start, -math.inf), math.nextafter(end, -math.inf)):
        if edge >= 0:
            assert (day_of(edge, offset) == day) == (start <= edge < end)


def test_day_span_refuses_a_day_day_of_never_gives() -> None:
    assert day_span("20240501", 0) is None
    assert day_span("yesterday", 0) is None


def test_kept_figures_follow_the_fields_they_were_worked_out_from() -> None:
    """The loss answer, the day and the equity are kept beside a state and carried to
    the next; a change of equity, of a base, of the limits or of the day is seen."""
    lim = limits()
    state = ready(lim)
    decision, state = decide(order(qty=0.001), state, lim, NOW)
    assert decision.allowed and {"_equity", "_losses", "_day"} <= set(state.__dict__)
    assert state.cash is not None

    def changed(**fields: object) -> RiskState:  # as a transition makes it: figures carried
        return carry_figures(state, msgspec.structs.replace(state, **fields))

    poorer = changed(cash=state.cash - Decimal(400))  # 4 % down
    assert evaluate(order(qty=0.001), poorer, lim, NOW).code == "daily_loss_limit"
    assert changed(high_water=state.cash + Decimal(600)).__dict__["_losses"][0] is lim
    assert evaluate(order(qty=0.001), changed(high_water=state.cash + Decimal(600)), lim,
                    NOW).code == "drawdown_limit"
    one_loss = limits(max_consecutive_losses=1)
    assert evaluate(order(qty=0.001), state, one_loss, NOW).allowed  # kept for one_loss
    assert evaluate(order(qty=0.001), changed(consecutive_losses=1), one_loss,
                    NOW).code == "consecutive_losses"
    assert evaluate(order(qty=0.001), changed(), lim, NOW + 86_400).code == "no_equity"
    assert evaluate(order(qty=0.001), changed(day="2024-04-30"), lim, NOW).code == "no_equity"
    assert evaluate(order(qty=0.001), changed(), lim, NOW + 1).allowed
