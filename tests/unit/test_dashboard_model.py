"""The tap's view model: messages in (as builtins, the way the tap decodes them), a view out.

Bodies are made from the real message Structs with ``msgspec.to_builtins`` so a
renamed field shows up here, not on an operator's screen. Time is a plain
number; nothing here sleeps or opens a socket.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agents.watchdog.messages import ModeChanged
from bus.protocol import Fill
from kernel.console._dashboard_model import DashboardModel
from kernel.console._dashboard_parts import Gauge, SlidingCounter, number, risk_from_snapshot
from kernel.events import AnomalyDetected, BotLifecycleChanged, KernelStateChanged
from risk.messages import (
    CloseAllRequested,
    FlatConfirmed,
    ManualCloseFlagged,
    ReasonView,
    TradingStateChanged,
)
from tests.support.tap_bodies import T0, b, bot_state, decision, heartbeat, request, risk, status


def model(**kwargs: Any) -> DashboardModel:
    return DashboardModel(started=T0, **kwargs)


# --- kernel and snapshot -------------------------------------------------------------


def test_before_anything_arrives_the_view_is_empty_and_connecting() -> None:
    view = model().view(T0 + 1)
    assert view.kernel is None and view.bot is None and view.risk is None
    assert view.events == () and view.link.state == "connecting"
    assert view.link.last_message_age_s is None
    assert view.counters.orders_per_s == 0 and view.counters.deny_rate is None


def test_a_snapshot_fills_every_panel_and_replays_news_as_earlier_events() -> None:
    m = model()
    latest = {"bot.state": bot_state(), "risk.state": risk(),
              "bot.lifecycle": b(BotLifecycleChanged(bot_id="qe-1", state="running",
                                                      ts=T0 - 50, detail="first heartbeat")),
              "kernel.state": b(KernelStateChanged(state="running", ts=T0 - 60))}
    m.load_snapshot(status(), latest, now=T0 + 2)
    view = m.view(T0 + 2)
    assert view.kernel is not None and view.kernel.version == "0.1.0" and view.kernel.pid == 77
    assert (view.kernel.actors_running, view.kernel.actors_total) == (1, 2)
    assert view.kernel.faulted == ("watchdog",) and view.kernel.anomalies == 3
    assert view.bot is not None and view.bot.bot_id == "qe-1" and view.bot.pid == 4242
    assert view.risk is not None and view.risk.trading_state == "ACTIVE"
    assert [e.topic for e in view.events] == ["kernel.state", "bot.lifecycle"]  # by time
    assert all(e.replayed for e in view.events)
    # Replayed state is not traffic: no rates, no "last message".
    assert view.counters.messages_per_s == 0 and view.link.last_message_age_s is None


def test_the_same_snapshot_twice_does_not_duplicate_events() -> None:
    m = model()
    latest = {"bot.lifecycle": b(BotLifecycleChanged(bot_id="qe-1", state="running", ts=T0))}
    m.load_snapshot(None, latest, now=T0 + 1)
    m.load_snapshot(None, latest, now=T0 + 9)
    assert len(m.view(T0 + 9).events) == 1


def test_replayed_events_take_their_place_in_time_within_the_ring() -> None:
    m = model(max_events=3)
    for i in (10, 20, 30):
        m.apply("bot.lifecycle", b(BotLifecycleChanged(bot_id="qe", state="running",
                                                        ts=T0 + i)), T0 + i)
    m.load_snapshot(None, {"risk.halt": b(TradingStateChanged(
        previous="ACTIVE", current="HALTED", by="human", cause="op", ts=T0 + 15))}, T0 + 31)
    assert [e.ts for e in m.view(T0 + 31).events] == [T0 + 15, T0 + 20, T0 + 30]
    m.load_snapshot(None, {"kernel.state": b(KernelStateChanged(state="running", ts=T0))},
                    T0 + 32)
    assert [e.ts for e in m.view(T0 + 32).events] == [T0 + 15, T0 + 20, T0 + 30]


def test_kernel_uptime_grows_and_stops_at_the_last_sign_of_life() -> None:
    m = model()
    m.load_status(status(uptime_s=60.0), T0)
    m.set_link("connected", T0)
    assert m.view(T0 + 10).kernel.uptime_s == pytest.approx(70)
    m.set_link("unreachable", T0 + 20, "no answer")
    assert m.view(T0 + 100).kernel.uptime_s == pytest.approx(80)
    m.apply("bot.heartbeat", heartbeat(), T0 + 15)  # heard from it after the answer at T0
    m.set_link("connected", T0 + 15)
    m.set_link("unreachable", T0 + 20, "no answer")
    view = m.view(T0 + 100)
    assert view.kernel is not None and view.kernel.uptime_s == pytest.approx(75)
    assert view.link.state == "unreachable" and view.link.since == T0 + 20
    assert view.link.detail == "no answer"


def test_kernel_state_mode_and_trading_state_follow_their_events() -> None:
    m = model()
    m.load_status(status(), T0)
    m.apply("kernel.state", b(KernelStateChanged(state="stopping", ts=T0)), T0)
    m.apply("kernel.mode", b(ModeChanged(previous="paper", mode="off", requested_by="ops",
                                         reason="maintenance", ts=T0)), T0)
    m.apply("risk.halt", b(TradingStateChanged(previous="ACTIVE", current="HALTED", by="human",
                                               cause="operator", ts=T0)), T0)
    kernel = m.view(T0).kernel
    assert kernel is not None
    assert (kernel.state, kernel.mode, kernel.trading_state) == ("stopping", "off", "HALTED")


def test_events_before_any_status_do_not_invent_a_kernel() -> None:
    m = model()
    m.apply("kernel.state", b(KernelStateChanged(state="running", ts=T0)), T0)
    m.apply("risk.state", risk(), T0)
    assert m.view(T0).kernel is None


# --- bot panel -----------------------------------------------------------------------


def test_bot_state_gives_the_panel_and_ages_grow_with_the_clock() -> None:
    m = model()
    m.apply("bot.state", bot_state(uptime_s=100.0, last_heartbeat_age_s=0.5), T0)
    bot = m.view(T0 + 3).bot
    assert bot is not None
    assert (bot.state, bot.mode, bot.pid, bot.restarts) == ("running", "paper", 4242, 0)
    assert bot.uptime_s == pytest.approx(103) and bot.heartbeat_age_s == pytest.approx(3.5)
    assert bot.equity == 10_050 and bot.realized_pnl == 40 and bot.unrealized_pnl == 10
    assert bot.position_count == 1


def test_a_stopped_bot_does_not_age_its_uptime() -> None:
    m = model()
    m.apply("bot.state", bot_state(state="gave_up", uptime_s=5.0, last_exit="killed by SIGKILL",
                                   restarts=4), T0)
    bot = m.view(T0 + 60).bot
    assert bot is not None and bot.uptime_s == 5.0 and bot.last_exit == "killed by SIGKILL"
    assert bot.restarts == 4


def test_a_bot_switched_off_has_no_heartbeat_age_to_count() -> None:
    m = model()
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("bot.state", bot_state(state="off", pid=None, uptime_s=None,
                                   last_heartbeat_age_s=2.0), T0 + 1)
    bot = m.view(T0 + 600).bot
    assert bot is not None and bot.state == "off" and bot.heartbeat_age_s is None


def test_heartbeats_refresh_money_positions_and_the_beat_age() -> None:
    m = model()
    m.apply("bot.state", bot_state(last_heartbeat_age_s=4.0), T0)
    m.apply("bot.heartbeat", heartbeat(), T0 + 1)
    bot = m.view(T0 + 1.5).bot
    assert bot is not None and bot.heartbeat_age_s == pytest.approx(0.5)
    assert bot.equity == 10_060 and bot.unrealized_pnl == 20
    (position,) = bot.positions
    assert (position.symbol, position.qty, position.avg_price) == ("BTCUSDT", -0.5, 60_000)
    assert position.unrealized == pytest.approx(20.0)  # short 0.5, price fell 40


def test_a_later_bot_state_keeps_the_fresher_heartbeat_age_and_the_positions() -> None:
    m = model()
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("bot.state", bot_state(last_heartbeat_age_s=0.9), T0 + 0.2)  # measured earlier
    bot = m.view(T0 + 0.2).bot
    assert bot is not None and bot.heartbeat_age_s == pytest.approx(0.2)
    assert len(bot.positions) == 1 and bot.state == "running"


def test_a_flat_bot_state_clears_positions_and_a_new_bot_id_forgets_the_old_ones() -> None:
    m = model()
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("bot.state", bot_state(positions=0), T0 + 1)
    assert m.view(T0 + 1).bot.positions == ()
    m.apply("bot.heartbeat", heartbeat(), T0 + 2)
    m.apply("bot.state", bot_state(bot_id="qe-2"), T0 + 3)
    bot = m.view(T0 + 3).bot
    assert bot is not None and bot.bot_id == "qe-2" and bot.positions == ()


def test_heartbeats_alone_make_a_bot_panel_and_other_bots_do_not_take_it_over() -> None:
    m = model()
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("bot.heartbeat", heartbeat(bot_id="someone-else", equity=1.0), T0 + 1)
    bot = m.view(T0 + 1).bot
    assert bot is not None and bot.bot_id == "qe-1" and bot.equity == 10_060
    assert bot.state == "connected" and bot.pid is None


def test_bot_state_also_updates_the_kernels_mode() -> None:
    m = model()
    m.load_status(status(mode="paper"), T0)
    m.apply("bot.state", bot_state(mode="demo"), T0)
    assert m.view(T0).kernel.mode == "demo"


# --- risk panel ----------------------------------------------------------------------


def test_risk_snapshot_becomes_gauges_against_the_limits() -> None:
    m = model()
    m.load_status(status(), T0)
    m.apply("risk.state", risk(trading_state="REDUCING"), T0)
    view = m.view(T0)
    r = view.risk
    assert r is not None and view.kernel is not None
    assert r.trading_state == "REDUCING" == view.kernel.trading_state
    assert (r.daily_loss.fraction, r.daily_loss.level) == (0.5, "warn")
    assert (r.drawdown.fraction, r.drawdown.level) == (0.9, "danger")
    assert r.trailing_drawdown.level == "ok" and r.leverage.fraction == 0.25
    assert r.pnl_today == -150 and r.equity == 9850
    assert r.notional == (("BTCUSDT", -4000.5), ("ETHUSDT", 1000.0))  # largest first
    assert not r.manual_close_needed and not r.close_requested


def test_unknown_risk_figures_show_as_unknown_not_as_zero() -> None:
    r = risk_from_snapshot(risk(daily_loss=None, max_daily_loss=None, equity=None, leverage=None))
    assert r.daily_loss == Gauge(None, None) and r.daily_loss.fraction is None
    assert r.daily_loss.level == "ok" and r.pnl_today is None and r.leverage.value is None


def test_halt_reasons_and_manual_close_follow_the_risk_events() -> None:
    m = model()
    m.apply("risk.state", risk(ts=T0), T0)
    reason = ReasonView(level="HALTED", code="daily_loss_limit", text="daily loss 300 reached")
    m.apply("risk.halt", b(TradingStateChanged(previous="ACTIVE", current="HALTED",
                                               by="limits", cause="daily_loss", ts=T0 + 1,
                                               reasons=(reason,))), T0 + 1)
    m.apply("risk.halt", b(CloseAllRequested(reason="loss", deadline_ts=T0 + 30, ts=T0 + 1)),
            T0 + 1)
    m.apply("risk.halt", b(ManualCloseFlagged(reason="still open", ts=T0 + 31,
                                              positions={"BTCUSDT": Decimal("0.5")})), T0 + 31)
    r = m.view(T0 + 31).risk
    assert r is not None and r.trading_state == "HALTED" and r.manual_close_needed
    assert r.close_requested and r.reasons[0]["code"] == "daily_loss_limit"
    m.apply("risk.halt", b(FlatConfirmed(ts=T0 + 40)), T0 + 40)
    r = m.view(T0 + 40).risk
    assert r is not None and not r.manual_close_needed and not r.close_requested


def test_a_replayed_risk_event_older_than_the_snapshot_does_not_undo_it() -> None:
    m = model()
    m.load_snapshot(None, {
        "risk.state": risk(ts=T0 + 10, manual_close_needed=False),
        "risk.halt": b(ManualCloseFlagged(reason="old news", ts=T0)),
    }, now=T0 + 11)
    r = m.view(T0 + 11).risk
    assert r is not None and not r.manual_close_needed


def test_the_risk_snapshot_shows_manual_close_needed() -> None:
    m = model()
    m.apply("risk.state", risk(manual_close_needed=True, close_requested=True), T0)
    r = m.view(T0).risk
    assert r is not None and r.manual_close_needed and r.close_requested


# --- events --------------------------------------------------------------------------


def test_state_reports_feed_panels_while_news_goes_to_the_event_list() -> None:
    m = model()
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("bot.state", bot_state(), T0)
    m.apply("risk.state", risk(), T0)
    m.apply("order.request", request("r1"), T0)
    m.apply("anomaly", b(AnomalyDetected(kind="bad_frame", severity="error", ts=T0 + 1,
                                         source="gateway", detail="not msgpack")), T0 + 1)
    m.apply("future.topic", {"type": "something_new", "x": 1}, T0 + 2)
    events = m.view(T0 + 2).events
    assert [(e.topic, e.severity) for e in events] == [("anomaly", "error"),
                                                       ("future.topic", "info")]
    assert events[0].ts == T0 + 1 and "not msgpack" in events[0].text
    assert events[1].ts == T0 + 2 and events[1].text == "something_new x=1"  # no ts: now


def test_a_decision_is_told_with_its_order_and_the_reason() -> None:
    m = model()
    m.apply("order.request", request("r1", side="sell", qty=0.5, reduce_only=True), T0)
    m.apply("order.decision", decision("r1", "DENY"), T0)
    m.apply("order.decision", decision("unknown", "ALLOW"), T0)
    deny, allow = m.view(T0).events
    assert deny.severity == "warning"
    assert deny.text == ("DENY sell 0.5 BTCUSDT @ 60,000.00 reduce-only [daily_loss_limit]: "
                         "daily loss 300 reached")
    assert allow.severity == "info" and allow.text == "ALLOW unknown [allowed] within limits"


def test_requests_that_never_got_a_decision_are_forgotten_in_time() -> None:
    m = model()
    for i in range(1500):
        m.apply("order.request", request(f"r{i}"), T0)
    m.apply("order.decision", decision("r0"), T0)
    m.apply("order.decision", decision("r1499"), T0)
    first, last = m.view(T0).events
    assert first.text.startswith("ALLOW r0 ")  # long gone: told without its order
    assert last.text.startswith("ALLOW buy 0.25 BTCUSDT")


def test_the_event_list_is_a_ring_and_notes_join_it() -> None:
    m = model(max_events=3)
    for i in range(5):
        m.apply("bot.lifecycle", b(BotLifecycleChanged(bot_id="qe", state="running",
                                                        ts=T0 + i)), T0 + i)
    m.note("kernel unreachable: no answer", "error", T0 + 9)
    events = m.view(T0 + 9).events
    assert [e.ts for e in events] == [T0 + 3, T0 + 4, T0 + 9]
    assert (events[-1].topic, events[-1].severity) == ("tap", "error")


def test_topic_filters_apply_to_the_event_list_but_not_to_the_panels() -> None:
    m = model(event_topics=("order.",))
    m.apply("bot.state", bot_state(), T0)
    m.apply("bot.lifecycle", b(BotLifecycleChanged(bot_id="qe", state="hung", ts=T0)), T0)
    m.apply("order.decision", decision("r1"), T0)
    view = m.view(T0)
    assert view.bot is not None and [e.topic for e in view.events] == ["order.decision"]


def test_undecodable_and_non_dict_bodies_still_show() -> None:
    m = model()
    m.apply("weird", [1, 2, 3], T0)
    m.apply("weird", {"type": "undecodable", "bytes": 3}, T0)
    assert [e.text for e in m.view(T0).events] == ["undecodable ", "undecodable bytes=3"]


# --- counters ------------------------------------------------------------------------


def test_orders_per_second_and_deny_rate_over_a_sliding_window() -> None:
    m = model(window_s=10)
    for i in range(20):  # 2 per second for 10 s; every fourth denied
        m.apply("order.decision", decision(f"r{i}", "DENY" if i % 4 == 0 else "ALLOW"),
                T0 + i / 2)
    c = m.view(T0 + 9.9).counters
    assert (c.decisions, c.denies) == (20, 5)
    assert c.orders_per_s == pytest.approx(2.0, abs=0.05) and c.deny_rate == 0.25
    later = m.view(T0 + 14.9).counters  # the first five seconds have left the window
    assert later.decisions == 10 and later.orders_per_s == pytest.approx(1.0)
    assert m.view(T0 + 60).counters.deny_rate is None


def test_rates_early_on_divide_by_the_time_watched_not_the_whole_window() -> None:
    m = model(window_s=60)
    for i in range(4):
        m.apply("order.decision", decision(f"r{i}"), T0 + i / 2)
    c = m.view(T0 + 2).counters
    assert c.orders_per_s == pytest.approx(2.0) and c.messages_per_s == pytest.approx(2.0)


def test_fills_count_and_replayed_messages_do_not() -> None:
    m = model()
    fill = b(Fill(request_id="r1", symbol="BTCUSDT", side="buy", qty=0.1, price=1.0, ts=T0))
    m.apply("order.fill", fill, T0)
    m.load_snapshot(None, {"order.fill": fill, "order.decision": decision("r9", "DENY")}, T0)
    c = m.view(T0).counters
    assert c.fills == 1 and c.decisions == 0


def test_last_message_age_comes_from_live_traffic() -> None:
    m = model()
    m.apply("bot.heartbeat", heartbeat(), T0 + 5)
    assert m.view(T0 + 7).link.last_message_age_s == pytest.approx(2)


def test_sliding_counter_keeps_constant_memory_at_any_rate() -> None:
    counter = SlidingCounter(window_s=5, started=T0)
    for i in range(10_000):
        counter.add(T0 + i / 1000, denied=i % 2 == 0)
    assert counter.totals(T0 + 9.999) == (5_000, 2_500)  # the last five seconds
    assert len(counter._buckets) == 5
    assert counter.totals(T0 + 12) == (2_000, 1_000)
    assert counter.rate(T0 + 12) == pytest.approx(400)


@pytest.mark.parametrize(("raw", "expected"), [
    ("12.5", 12.5), (3, 3.0), (2.5, 2.5), ("abc", None), (None, None), (True, None),
    ("nan", None), ("inf", None), ([], None),
])
def test_numbers_come_from_strings_and_numbers_only(raw: Any, expected: float | None) -> None:
    assert number(raw) == expected


@pytest.mark.parametrize(("value", "limit", "fraction", "level"), [
    (0.0, 300.0, 0.0, "ok"), (149.0, 300.0, 149 / 300, "ok"), (150.0, 300.0, 0.5, "warn"),
    (240.0, 300.0, 0.8, "danger"), (900.0, 300.0, 1.0, "danger"), (-50.0, 300.0, 0.0, "ok"),
    (10.0, 0.0, None, "ok"), (None, 300.0, None, "ok"), (10.0, None, None, "ok"),
])
def test_gauge_levels(value: float | None, limit: float | None, fraction: float | None,
                      level: str) -> None:
    gauge = Gauge(value, limit)
    assert gauge.fraction == (None if fraction is None else pytest.approx(fraction))
    assert gauge.level == level
