"""The replay engine (risk/rerun.py) and its report: a day produced with the pure
engine itself, replayed with the same limits, tighter ones and looser ones."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bus.protocol import Fill, OrderDecision, OrderRequest, OrderUpdate
from risk import (
    LossLimit,
    RiskLimits,
    decide,
    initial_state,
    order_decision,
    set_risk_multiplier,
)
from risk.fills import apply_fill
from risk.heartbeat import apply_heartbeat
from risk.messages import LimitTripped
from risk.rerun import rerun
from risk.rerun_facts import (
    Ahead,
    Based,
    Fact,
    Halted,
    MultiplierAsked,
    Restarted,
    Resumed,
    Row,
)
from risk.rerun_report import report
from risk.state import RiskState
from tests.unit.risk.risk_world import MIDNIGHT, NOW, fill, heartbeat, limits, order


class Day:
    """A live gate in miniature: every fact goes through the pure engine and is
    journaled as a row, decisions included, as the kernel does."""

    def __init__(self, lim: RiskLimits) -> None:
        self.lim = lim
        self.rows: list[Row] = [Row(1, NOW - 1, Restarted())]
        self.state: RiskState = initial_state(lim, NOW - 1)
        self.trips: list[tuple[float, str]] = []

    def add(self, ts: float, fact: Fact) -> None:
        self.rows.append(Row(len(self.rows) + 1, ts, fact))

    def beat(self, ts: float, equity: float = 10_000.0,
             positions: dict[str, tuple[float, float]] | None = None) -> None:
        hb = heartbeat(equity, positions, tick_ts=ts, ts=ts)
        self.add(ts, hb)
        self.state, events = apply_heartbeat(self.state, hb, self.lim, ts)
        self.trips += [(ts, e.code) for e in events if isinstance(e, LimitTripped)]

    def order(self, ts: float, request: OrderRequest) -> str:
        self.add(ts, request)
        decision, self.state = decide(request, self.state, self.lim, ts)
        self.add(ts, order_decision(request, decision, self.state.trading_state, ts))
        return decision.verdict

    def fill(self, ts: float, done: Fill) -> None:
        self.add(ts, done)
        self.state, _ = apply_fill(self.state, done, self.lim, ts)


def trading_day(lim: RiskLimits) -> Day:
    """Ten orders of growing size, a fill for each allowed one, beats in between."""
    day = Day(lim)
    day.beat(NOW)
    held = 0.0
    for i in range(10):
        ts = NOW + 1 + i
        request = order("ETHUSDT", qty=0.1 * (i + 1), price=2_500.0, request_id=f"o{i}")
        if day.order(ts, request) == "ALLOW":
            day.fill(ts + 0.1, fill("ETHUSDT", qty=request.qty, price=2_500.0,
                                    request_id=request.request_id))
            held += request.qty
        day.beat(ts + 0.5, positions={"ETHUSDT": (held, 2_500.0)})
    return day


def test_the_limits_in_force_reproduce_every_decision() -> None:
    lim = limits()
    day = trading_day(lim)
    found = report(rerun(day.rows, lim), day.trips)
    assert found.exact and found.flips == []
    assert found.counts.orders == 10 and found.counts.same == 10
    assert found.counts.reason_differs == 0
    decisions = [r.seq for r in day.rows if isinstance(r.fact, OrderDecision)]
    assert found.exact_through_seq == decisions[-1]


def test_a_tighter_limit_flips_allows_and_labels_rows_after_the_first_approximate() -> None:
    day = trading_day(limits())
    tight = limits(max_order_notional=1_000.0)  # 0.4 ETH at 2,500 = 1,000: the 5th is over
    found = report(rerun(day.rows, tight), day.trips)
    assert not found.exact
    first = found.flips[0]
    assert (first.request_id, first.old_verdict, first.new_verdict, first.new_code) == (
        "o4", "ALLOW", "DENY", "fat_finger_notional")
    assert first.exact and all(not f.exact for f in found.flips[1:])
    assert found.exact_through_seq == first.seq
    assert found.counts.allow_to_deny.get("fat_finger_notional", 0) >= 1


def test_a_looser_limit_flips_denials_to_allows() -> None:
    day = trading_day(limits(max_order_notional=1_000.0))
    found = report(rerun(day.rows, limits(max_order_notional=2_500.0)), day.trips)
    to_allow = [f for f in found.flips if f.new_verdict == "ALLOW"]
    assert to_allow and to_allow[0].old_code == "fat_finger_notional"
    assert to_allow[0].exact and all(not f.exact for f in to_allow[1:])
    assert sum(found.counts.deny_to_allow.values()) == len(to_allow)


def test_a_tighter_daily_loss_trips_at_the_beat_that_crosses_it() -> None:
    lim = limits(max_daily_loss=LossLimit(pct=10))
    day = Day(lim)
    day.beat(NOW, positions={"ETHUSDT": (1.0, 2_500.0)})
    for i, mark in enumerate((2_400.0, 2_300.0, 2_200.0, 2_100.0)):
        ts = NOW + 10 * (i + 1)
        hb = heartbeat(7_500.0 + mark, {"ETHUSDT": (1.0, 2_500.0)},
                       marks={"BTCUSDT": 50_000.0, "ETHUSDT": mark}, tick_ts=ts, ts=ts)
        day.add(ts, hb)
        day.state, _ = apply_heartbeat(day.state, hb, lim, ts)
    assert day.order(NOW + 41, order("ETHUSDT", qty=0.1, price=2_100.0)) == "ALLOW"
    found = report(rerun(day.rows, limits(max_daily_loss=LossLimit(usdt=150))), day.trips)
    trip = found.trips[0]
    assert (trip.code, trip.ts, trip.live) == ("daily_loss_limit", NOW + 20, False)
    assert [(f.old_verdict, f.new_code) for f in found.flips] == [("ALLOW", "halted")]
    outcome = found.outcome
    assert outcome.halted_at == NOW + 20
    assert outcome.pnl == Decimal("-400") and outcome.pnl_with_halts == Decimal("-200")
    assert outcome.max_drawdown == Decimal("400")
    assert outcome.max_drawdown_with_halts == Decimal("200")


def test_a_decision_made_ahead_of_a_heartbeat_is_replayed_ahead_of_it() -> None:
    """The live engine took a heartbeat (a new mark) after deciding the next order:
    with ``Ahead`` the replay does too, and judges the order on the old mark."""
    lim = limits()
    day = Day(lim)
    day.beat(NOW)
    moved = heartbeat(marks={"BTCUSDT": 50_000.0, "ETHUSDT": 2_600.0}, tick_ts=NOW + 1,
                      ts=NOW + 1)
    day.add(NOW + 1, moved)  # journaled, but the engine has not taken it yet
    late = order("ETHUSDT", qty=0.1, price=2_500.0, request_id="b")
    day.add(NOW + 1.2, late)
    day.add(NOW + 1.2, Ahead(facts=1))
    decision, day.state = decide(late, day.state, lim, NOW + 1.2)
    assert decision.verdict == "ALLOW"  # within the collar of the old mark, 2,500
    day.add(NOW + 1.2, order_decision(late, decision, day.state.trading_state, NOW + 1.2))
    assert report(rerun(day.rows, lim), []).exact
    without = [r for r in day.rows if not isinstance(r.fact, Ahead)]
    flips = report(rerun(without, lim), []).flips
    assert [(f.old_verdict, f.new_code) for f in flips] == [("ALLOW", "price_collar")]


def test_in_a_fleet_the_facts_held_back_are_the_ordering_bots_own() -> None:
    """A fleet's engine is behind on its own bot's facts only: the update another bot
    sent after the held heartbeat went to that bot's engine, so the replay applies it
    and still holds the heartbeat back."""
    lim = limits()
    day = Day(lim)
    day.beat(NOW)
    moved = heartbeat(marks={"BTCUSDT": 50_000.0, "ETHUSDT": 2_600.0}, tick_ts=NOW + 1,
                      ts=NOW + 1)
    day.add(NOW + 1, moved)  # qe's, not yet taken by qe's engine
    day.add(NOW + 1.1, OrderUpdate(request_id="x-1", status="cancelled", ts=NOW + 1.1,
                                   bot_id="other"))  # taken by other's engine
    late = order("ETHUSDT", qty=0.1, price=2_500.0, request_id="b")
    day.add(NOW + 1.2, late)
    day.add(NOW + 1.2, Ahead(facts=1, bot_id="qe"))
    decision, day.state = decide(late, day.state, lim, NOW + 1.2)
    assert decision.verdict == "ALLOW"
    day.add(NOW + 1.2, order_decision(late, decision, day.state.trading_state, NOW + 1.2))
    assert report(rerun(day.rows, lim), []).exact
    unkeyed = [Row(r.seq, r.ts, Ahead(facts=1)) if isinstance(r.fact, Ahead) else r
               for r in day.rows]  # the last fact of any bot held: the wrong one
    flips = report(rerun(unkeyed, lim), []).flips
    assert [(f.old_verdict, f.new_code) for f in flips] == [("ALLOW", "price_collar")]


def test_halts_and_resumes_by_people_are_replayed() -> None:
    lim = limits()
    day = Day(lim)
    day.beat(NOW)
    day.add(NOW + 1, Halted(reason="lunch (by ops)"))
    from risk import halt, resume
    day.state, _ = halt(day.state, "lunch (by ops)", NOW + 1)
    assert day.order(NOW + 2, order("ETHUSDT", qty=0.1, price=2_500.0)) == "DENY"
    day.add(NOW + 3, Resumed(reason="back (by ops)"))
    day.state, _ = resume(day.state, "back (by ops)", lim, NOW + 3)
    assert day.order(NOW + 4, order("ETHUSDT", qty=0.1, price=2_500.0)) == "ALLOW"
    found = report(rerun(day.rows, lim), [])
    assert found.exact and found.counts.same == 2


def test_only_the_window_is_compared() -> None:
    lim = limits()
    day = trading_day(lim)
    found = report(rerun(day.rows, lim, since=NOW + 5), day.trips)
    assert found.counts.orders == 6  # NOW + 5 to NOW + 10


def test_a_held_multiplier_scales_the_size_limits_all_day() -> None:
    lim = limits()
    day = Day(lim)
    day.beat(NOW)
    assert day.order(NOW + 1, order("ETHUSDT", qty=0.6, price=2_500.0)) == "ALLOW"  # 1,500
    day.add(NOW + 2, MultiplierAsked(value=1.0, requested_by="operator:ana", reason="back"))
    assert day.order(NOW + 3, order("ETHUSDT", qty=0.2, price=2_500.0)) == "ALLOW"  # 500
    found = report(rerun(day.rows, lim, multiplier=0.5), day.trips)  # 2,500 x 0.5 = 1,250
    assert [(f.old_verdict, f.new_code) for f in found.flips] == [
        ("ALLOW", "fat_finger_notional")]
    assert found.counts.same == 1  # the request to raise it again is left out


def test_a_held_multiplier_outlasts_the_rollover_that_ends_an_advisers_cut() -> None:
    """A save made while an adviser's cut was in force carries the setting it cut, to
    come back at the next trading day; a replay that holds the multiplier holds it
    across that rollover too (the cut's end would lift it back to the base)."""
    lim = limits()
    day = Day(lim)
    day.state, _ = set_risk_multiplier(day.state, 0.8, "calm down", lim, NOW - 1,
                                       by="moderator:offline", temporary=True)
    day.rows = [Row(1, NOW - 1, Based(state=day.state))]
    day.beat(NOW)
    tomorrow = MIDNIGHT + 60
    day.beat(tomorrow)
    assert day.state.risk_multiplier == 1.0  # live, the cut ended at midnight
    big = order("ETHUSDT", qty=0.8, price=2_500.0, request_id="big")  # 2,000 USDT
    assert day.order(tomorrow + 1, msgspec.structs.replace(big, ts=tomorrow + 1)) == "ALLOW"
    ran = rerun(day.rows, lim, multiplier=0.5)  # 2,500 x 0.5 = 1,250
    assert (ran.rows[0].new.verdict, ran.rows[0].new.code) == ("DENY", "fat_finger_notional")
    assert ran.state is not None and ran.state.risk_multiplier == 0.5
