"""An allowed order's reservation: kept until fills or an ending ``order_update``,
kept past the ttl (reported once as ``order_unconfirmed``), and for reduce-only
orders counted against the position they reduce."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.protocol import OrderRequest, OrderUpdate
from risk import (
    RiskLimits,
    RiskState,
    SymbolLimits,
    apply_fill,
    apply_order_update,
    check_limits,
    decide,
    evaluate,
    halt,
    resume,
)
from risk.exposure import pending_by_symbol
from risk.messages import OrdersReleased, RiskAnomalyDetected
from risk.orders import UNCONFIRMED_ITEMISED, report_unconfirmed
from tests.unit.risk.risk_world import NOW, fill, limits, order, ready

MARKS = {"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0, "SOLUSDT": 100.0}
TTL = 10.0


def _sol(**overrides: Any) -> RiskLimits:
    """SOL at 100 with a 1,000 USDT cap per symbol; marks stay fresh past the ttl."""
    return limits(symbols={"BTCUSDT": SymbolLimits(), "ETHUSDT": SymbolLimits(),
                           "SOLUSDT": SymbolLimits(max_notional=1_000.0)},
                  open_order_ttl_s=TTL, stale_tick_s=3_600.0, **overrides)


def _update(request_id: str, status: str, remaining: float | None = None,
            venue: str = "") -> OrderUpdate:
    return OrderUpdate(request_id=request_id, status=status,  # type: ignore[arg-type]
                       ts=NOW, remaining_qty=remaining, venue_order_id=venue)


def _buy_sol(state: RiskState, lim: RiskLimits, request_id: str, now: float,
             qty: float = 9.0) -> tuple[bool, str, RiskState]:
    decision, state = decide(order("SOLUSDT", "buy", qty, 100.0, request_id=request_id),
                             state, lim, now)
    return decision.allowed, decision.code, state


def test_an_order_still_resting_after_the_ttl_keeps_counting() -> None:
    """The issue's case: 900 USDT of SOL resting past the ttl, then another 900."""
    lim = _sol()
    state = ready(lim, marks=MARKS)
    allowed, _, state = _buy_sol(state, lim, "a", NOW)
    assert allowed
    allowed, code, state = _buy_sol(state, lim, "b", NOW + TTL + 1)
    assert (allowed, code) == (False, "notional_limit")


def test_the_ttl_raises_order_unconfirmed_once_and_the_order_keeps_its_reservation() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, events = check_limits(state, lim, NOW + TTL - 0.1)
    assert not events
    state, events = check_limits(state, lim, NOW + TTL)
    [anomaly] = events
    assert isinstance(anomaly, RiskAnomalyDetected) and anomaly.kind == "order_unconfirmed"
    assert "order a" in anomaly.detail and "keeps reserving 9 SOLUSDT" in anomaly.detail
    assert "order_update" in anomaly.detail and "kernel resume" in anomaly.detail
    for later in (NOW + TTL + 1, NOW + 10 * TTL):
        state, events = check_limits(state, lim, later)
        assert events == []  # once per order, not on every check
    assert state.open_orders["a"].qty == Decimal(9)


def test_a_cancel_releases_the_reservation() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, events = apply_order_update(state, _update("a", "cancelled", 9.0), NOW + 1)
    assert events == [] and state.open_orders == {}
    allowed, _, _ = _buy_sol(state, lim, "b", NOW + 2)
    assert allowed


def test_rejected_and_expired_end_the_order_too() -> None:
    lim = _sol()
    for status in ("rejected", "expired"):
        _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
        state, _ = apply_order_update(state, _update("a", status), NOW + 1)
        assert state.open_orders == {}, status


def test_an_accepted_order_rests_without_an_anomaly_and_keeps_counting() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, _ = apply_order_update(state, _update("a", "accepted", 9.0, "V-1"), NOW + 0.1)
    assert state.open_orders["a"].venue_order_id == "V-1"
    state, events = check_limits(state, lim, NOW + 100 * TTL)
    assert events == []
    allowed, code, _ = _buy_sol(state, lim, "b", NOW + 100 * TTL)
    assert (allowed, code) == (False, "notional_limit")


def test_fills_the_venue_made_before_a_cancel_stay_reserved_until_reported() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, _ = apply_order_update(state, _update("a", "partially_filled", 5.0), NOW + 0.1)
    assert state.open_orders["a"].qty == Decimal(9)  # fills, not updates, move the ledger
    state, _ = apply_order_update(state, _update("a", "cancelled", 5.0), NOW + 0.2)
    assert state.open_orders["a"].qty == Decimal(4)  # filled by the venue, not yet reported
    allowed, code, _ = _buy_sol(state, lim, "b", NOW + 0.3, qty=7.0)  # 4 + 7 > 10 SOL
    assert (allowed, code) == (False, "notional_limit")
    state, _ = apply_fill(state, fill("SOLUSDT", "buy", 4.0, 100.0, request_id="a"), lim,
                          NOW + 0.4)
    assert state.open_orders == {}
    assert state.positions["SOLUSDT"].qty == Decimal(4)
    allowed, _, _ = _buy_sol(state, lim, "b", NOW + 0.5, qty=6.0)  # 4 held + 6 = 10 SOL
    assert allowed


def test_a_fill_before_the_cancel_is_not_released_twice() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, _ = apply_fill(state, fill("SOLUSDT", "buy", 4.0, 100.0, request_id="a"), lim, NOW)
    state, _ = apply_order_update(state, _update("a", "cancelled", 5.0), NOW + 0.1)
    assert state.open_orders == {}  # 4 filled and reported, 5 cancelled: nothing owed


def test_an_update_that_overtakes_the_end_changes_nothing() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, _ = apply_order_update(state, _update("a", "cancelled", 5.0), NOW + 0.1)
    ended = state
    state, _ = apply_order_update(state, _update("a", "partially_filled", 5.0), NOW + 0.2)
    assert state == ended


def test_an_update_for_an_unknown_order_changes_nothing() -> None:
    lim = _sol()
    state = ready(lim, marks=MARKS)
    after, events = apply_order_update(state, _update("nobody", "cancelled"), NOW)
    assert after is state and events == []


def test_an_impossible_update_is_refused_with_an_anomaly() -> None:
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    for bad in (_update("a", "filled"), _update("a", "cancelled", float("nan")),
                _update("a", "cancelled", -1.0)):
        after, [event] = apply_order_update(state, bad, NOW)
        assert after is state
        assert isinstance(event, RiskAnomalyDetected) and event.kind == "invalid_order_update"


def test_a_resume_ends_the_reservations_reported_unconfirmed_and_no_other() -> None:
    lim = _sol()
    state = ready(lim, marks=MARKS)
    _, _, state = _buy_sol(state, lim, "lost", NOW, qty=3.0)
    _, _, state = _buy_sol(state, lim, "resting", NOW, qty=3.0)
    state, _ = apply_order_update(state, _update("resting", "accepted"), NOW)
    _, _, state = _buy_sol(state, lim, "young", NOW + TTL, qty=3.0)
    state, [anomaly] = check_limits(state, lim, NOW + TTL)
    assert isinstance(anomaly, RiskAnomalyDetected) and "order lost" in anomaly.detail
    state, events = resume(state, "checked the venue: order lost is not there", lim,
                           NOW + TTL + 1)
    [released] = [e for e in events if isinstance(e, OrdersReleased)]
    assert released.request_ids == ("lost",) and "checked the venue" in released.reason
    assert set(state.open_orders) == {"resting", "young"}


def _long(qty: float = 1.0) -> tuple[RiskLimits, RiskState]:
    lim = limits()
    return lim, ready(lim, positions={"ETHUSDT": (qty, 2_500.0)})


def _reduce(state: RiskState, lim: RiskLimits, qty: float, side: str = "sell",
            request_id: str | None = None) -> tuple[str, str, RiskState]:
    decision, state = decide(order("ETHUSDT", side, qty, 2_500.0, reduce_only=True,
                                   request_id=request_id), state, lim, NOW)
    return decision.code, decision.reason, state


def test_two_reduce_only_orders_for_the_whole_position_are_not_both_allowed() -> None:
    lim, state = _long()
    code, _, state = _reduce(state, lim, 1.0, request_id="first")
    assert code == "allowed"
    code, reason, state = _reduce(state, lim, 1.0)
    assert code == "reduce_only_exceeds_position"
    assert "1 is already pending in reduce_only orders" in reason
    assert "at most 0 is left to reduce" in reason


def test_reduce_only_orders_share_the_position_until_it_is_used_up() -> None:
    lim, state = _long()
    code, _, state = _reduce(state, lim, 0.6)
    assert code == "allowed"
    code, _, state = _reduce(state, lim, 0.4)
    assert code == "allowed"
    code, _, state = _reduce(state, lim, 0.1)
    assert code == "reduce_only_exceeds_position"


def test_a_filled_or_cancelled_reduce_only_order_frees_its_share() -> None:
    lim, state = _long()
    _, _, state = _reduce(state, lim, 1.0, request_id="first")
    cancelled, _ = apply_order_update(state, _update("first", "cancelled", 1.0), NOW)
    assert _reduce(cancelled, lim, 1.0)[0] == "allowed"
    partly, _ = apply_fill(state, fill("ETHUSDT", "sell", 0.4, 2_500.0, request_id="first"),
                           lim, NOW)
    assert partly.positions["ETHUSDT"].qty == Decimal("0.6")
    assert _reduce(partly, lim, 0.1)[0] == "reduce_only_exceeds_position"  # 0.6 still pending


def test_a_short_is_reduced_by_buys_and_pending_ones_count_the_same() -> None:
    lim, state = _long(-1.0)
    code, _, state = _reduce(state, lim, 0.7, side="buy")
    assert code == "allowed"
    assert _reduce(state, lim, 0.4, side="buy")[0] == "reduce_only_exceeds_position"


def test_reduce_only_within_what_is_left_still_passes_a_halt() -> None:
    lim, state = _long()
    _, _, state = _reduce(state, lim, 0.5)
    state, _ = halt(state, "checking", NOW)
    assert _reduce(state, lim, 0.5)[0] == "allowed"
    assert evaluate(order("ETHUSDT", "sell", 0.5, 2_500.0, reduce_only=True), state, lim,
                    NOW).code == "allowed"


def test_a_reduce_only_order_reserves_but_spends_no_rate_token() -> None:
    lim, state = _long()
    _, _, after = _reduce(state, lim, 0.5, request_id="ro")
    assert after.open_orders["ro"].reduce_only and after.open_orders["ro"].qty == Decimal("0.5")
    assert after.buckets == state.buckets


_sizes = st.sampled_from([0.01, 0.02, 0.05, 0.1, 0.3])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_sum_kept_beside_the_state_is_the_sum_of_its_open_orders(
        data: st.DataObject) -> None:
    """Decisions, fills and updates hand the open-quantity sum on to the next state
    (``pending_of``); it must always equal a fresh sum, and every decision must be
    the one a state without it gets."""
    lim = limits(max_orders_per_second=1e6, max_open_orders=100,
                 symbols={"BTCUSDT": SymbolLimits(), "ETHUSDT": SymbolLimits()})
    state = ready(lim, positions={"ETHUSDT": (1.0, 2_500.0)})
    allowed: list[OrderRequest] = []
    for step in range(data.draw(st.integers(1, 25))):
        kind = data.draw(st.sampled_from(["open", "open", "reduce", "fill", "update"]))
        if kind in ("open", "reduce") or not allowed:
            symbol = data.draw(st.sampled_from(["BTCUSDT", "ETHUSDT"]))
            price = 50_000.0 if symbol == "BTCUSDT" else 2_500.0
            o = order(symbol, data.draw(st.sampled_from(["buy", "sell"])), data.draw(_sizes),
                      price, reduce_only=kind == "reduce")
            fresh = msgspec.structs.replace(state)  # the same state, nothing kept beside it
            decision, state = decide(o, state, lim, NOW)
            assert evaluate(o, fresh, lim, NOW) == decision, step
            if decision.allowed:
                allowed.append(o)
        elif kind == "fill":
            o = data.draw(st.sampled_from(allowed))
            state, _ = apply_fill(state, fill(o.symbol, o.side, o.qty / 2, o.price,
                                              request_id=o.request_id), lim, NOW)
        else:
            o = data.draw(st.sampled_from(allowed))
            status = data.draw(st.sampled_from(["accepted", "cancelled", "expired"]))
            remaining = data.draw(st.sampled_from([None, 0.0, o.qty / 4]))
            state, _ = apply_order_update(state, _update(o.request_id, status, remaining), NOW)
        kept = state.__dict__.get("_pending")
        if kept is not None and kept[0] is state.open_orders:
            fresh_sum = pending_by_symbol(state.open_orders.values())
            assert {s: p for s, p in kept[1].items() if any(p)} == \
                {s: p for s, p in fresh_sum.items() if any(p)}, step


def test_the_id_of_an_order_still_open_is_never_reused_however_old() -> None:
    """Ids are remembered in a bounded window; an order resting past it keeps its id."""
    lim = limits(remember_request_ids=64, max_orders_per_second=1e6, max_open_orders=1_000)
    _, state = decide(order(qty=0.01, request_id="resting"), ready(lim), lim, NOW)
    for i in range(200):  # pushes "resting" out of the remembered ids
        _, state = decide(order(qty=0.0001, request_id=f"n{i}"), state, lim, NOW)
        state, _ = apply_order_update(state, _update(f"n{i}", "cancelled"), NOW)
    assert "resting" not in state.request_ids and "resting" in state.open_orders
    again = evaluate(order(qty=0.01, request_id="resting"), state, lim, NOW)
    assert again.code == "duplicate_request" and "still open" in again.reason


def test_a_crowd_of_late_orders_is_itemised_up_to_a_cap_then_counted_in_one() -> None:
    """After a flood thousands of orders pass the ttl together: twenty anomalies
    name their order, one counts the rest, and every order is reported once."""
    lim = _sol(max_open_orders=100)
    state = ready(lim, marks=MARKS)
    late = UNCONFIRMED_ITEMISED + 5
    for n in range(late):
        decision, state = decide(order("ETHUSDT", "buy", 0.001, 2_500.0, request_id=f"o{n}"),
                                 state, lim, NOW + n * 0.5)
        assert decision.allowed, decision.reason
    state, events = check_limits(state, lim, NOW + late + TTL)
    assert [e.kind for e in events if isinstance(e, RiskAnomalyDetected)] == \
        ["order_unconfirmed"] * (UNCONFIRMED_ITEMISED + 1)
    *itemised, summary = events
    assert all(f"order o{n}," in e.detail for n, e in enumerate(itemised))
    assert isinstance(summary, RiskAnomalyDetected)
    assert summary.detail.startswith("5 more orders had no order_update")
    assert "kernel resume" in summary.detail and f"o{late - 1}" in summary.detail
    assert all(o.reported for o in state.open_orders.values())
    assert check_limits(state, lim, NOW + late + 2 * TTL)[1] == []


def test_between_walks_no_order_can_be_late_so_a_check_leaves_the_state_as_it_is() -> None:
    """A heartbeat runs the check: with thousands of orders open it must not walk
    them all on every beat. Until ttl after the earliest wait the last walk saw,
    the check returns the very same state (no walk, nothing copied)."""
    lim = _sol(max_open_orders=100)
    state = ready(lim, marks=MARKS)
    for n in range(10):
        decision, state = decide(order("ETHUSDT", "buy", 0.001, 2_500.0, request_id=f"o{n}"),
                                 state, lim, NOW + n * 0.5)
        assert decision.allowed, decision.reason
    state, events = check_limits(state, lim, NOW + 5.0)  # all came after the last walk
    assert events == [] and state.unconfirmed_from == NOW
    for beat in range(1, 50):  # every later check until the first could be late
        after, events = report_unconfirmed(state, lim, NOW + 5.0 + beat * 0.1)
        assert after is state and events == []
    state, events = check_limits(state, lim, NOW + TTL)
    assert [e.detail.split(",")[0] for e in events] == ["order o0"]
    assert state.unconfirmed_from == NOW + 0.5  # o1 is the next to come due


def test_an_order_allowed_or_ended_after_a_walk_is_reported_on_time() -> None:
    """What starts to be waited on after a walk (a new ALLOW, an ending update owed
    fills) comes due no sooner than ttl after that walk: never missed by the skip."""
    lim = _sol()
    state = ready(lim, marks=MARKS)
    state, _ = check_limits(state, lim, NOW)  # a walk over no orders at all
    _, _, state = _buy_sol(state, lim, "a", NOW + 1.0)
    _, _, state = _buy_sol(state, lim, "b", NOW + 2.0, qty=0.5)
    state, _ = apply_order_update(state, _update("b", "accepted"), NOW + 2.0)
    state, events = check_limits(state, lim, NOW + TTL)  # a walk: nothing late
    assert events == []
    state, _ = apply_order_update(state, _update("b", "cancelled", remaining=0.2), NOW + 3.0)
    state, events = check_limits(state, lim, NOW + 1.0 + TTL)
    assert [e.detail.split(",")[0] for e in events] == ["order a"]
    state, events = check_limits(state, lim, NOW + 3.0 + TTL)
    assert [e.detail.split(",")[0] for e in events] == ["order b"]


def test_a_shorter_ttl_takes_effect_at_the_next_check() -> None:
    """The skip is worked out from the earliest wait, not from a due time, so a ttl
    reloaded shorter applies at once."""
    lim = _sol()
    _, _, state = _buy_sol(ready(lim, marks=MARKS), lim, "a", NOW)
    state, events = check_limits(state, lim, NOW + 2.0)
    assert events == []
    shorter = msgspec.structs.replace(lim, open_order_ttl_s=1.0)
    _, events = check_limits(state, shorter, NOW + 2.0)
    assert [e.detail.split(",")[0] for e in events] == ["order a"]
