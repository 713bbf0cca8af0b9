"""The off-market rule and the job periods, with time passed in (no clock, no sleep)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from agents.meta.config import MetaConfig, TradingWindow
from agents.meta.schedule import (
    Activity,
    Attempt,
    due_jobs,
    idle_reason,
    in_trading_hours,
    next_off_market,
    observe,
    off_market,
    period_key,
    previous_day,
    window_start,
)
from agents.moderator.messages import PauseEnded, PauseStarted
from agents.watchdog.messages import BotStateReported, ModeChanged
from risk.messages import TradingStateChanged

SUNDAY = datetime(2026, 11, 22, tzinfo=UTC).timestamp()  # a Sunday, 00:00 UTC
HOUR = 3600.0
DAY_HOURS = [TradingWindow(start="06:00", end="22:00")]
RUNNING = Activity(mode="paper", bot_state="running")


def at(day_offset: int, hour: float) -> float:
    return SUNDAY + day_offset * 86_400 + hour * HOUR


def config(**overrides: object) -> MetaConfig:
    return msgspec.convert({"trading_hours": [{"start": "06:00", "end": "22:00"}],
                            **overrides}, MetaConfig)


@pytest.mark.parametrize(("hour", "inside"), [(5.99, False), (6, True), (13, True),
                                              (21.99, True), (22, False), (23.5, False)])
def test_a_day_window(hour: float, inside: bool) -> None:
    assert in_trading_hours(at(0, hour), 0, DAY_HOURS) is inside


@pytest.mark.parametrize(("day", "hour", "inside"), [(0, 21, False), (0, 22, True),
                                                     (1, 3, True), (1, 6, False)])
def test_a_window_across_midnight_belongs_to_the_day_it_starts(day: int, hour: float,
                                                               inside: bool) -> None:
    night = [TradingWindow(days=["sun"], start="22:00", end="06:00")]
    assert in_trading_hours(at(day, hour), 0, night) is inside


def test_days_limit_a_window_and_start_equal_to_end_is_the_whole_day() -> None:
    weekdays = [TradingWindow(days=["mon", "tue", "wed", "thu", "fri"], start="00:00",
                              end="00:00")]
    assert not in_trading_hours(at(0, 12), 0, weekdays)  # Sunday
    assert in_trading_hours(at(1, 0), 0, weekdays)  # Monday 00:00
    assert in_trading_hours(at(1, 23.99), 0, weekdays)


def test_hours_are_read_at_the_risk_timezone_offset() -> None:
    assert not in_trading_hours(at(0, 4), 0, DAY_HOURS)
    assert in_trading_hours(at(0, 4), 3 * 3600, DAY_HOURS)  # 07:00 at UTC+03:00


def test_inside_hours_with_the_bot_trading_is_on_market() -> None:
    off, why = off_market(at(0, 12), utc_offset_s=0, config=config(), activity=RUNNING)
    assert not off
    assert "inside trading hours (06:00-22:00 every day)" in why


def test_outside_hours_is_off_market_whatever_the_bot_does() -> None:
    assert off_market(at(0, 23), utc_offset_s=0, config=config(), activity=RUNNING) == \
        (True, "outside trading hours")


@pytest.mark.parametrize(("activity", "why"), [
    (Activity(mode="off"), "the bot's mode is off"),
    (Activity(bot_state="stopped"), "the bot is stopped"),
    (Activity(bot_state="gave_up"), "the bot is gave_up"),
    (Activity(bot_state="running", halted=True), "trading is halted"),
    (Activity(bot_state="running", paused_until=at(0, 13)), "paused by the moderator"),
])
def test_an_idle_bot_makes_trading_hours_off_market(activity: Activity, why: str) -> None:
    off, reason = off_market(at(0, 12), utc_offset_s=0, config=config(), activity=activity)
    assert off
    assert why in reason


def test_a_pause_that_ran_out_no_longer_counts() -> None:
    paused = Activity(bot_state="running", paused_until=at(0, 11))
    assert not off_market(at(0, 12), utc_offset_s=0, config=config(), activity=paused)[0]


def test_no_trading_hours_means_any_time() -> None:
    assert off_market(at(0, 12), utc_offset_s=0, config=config(trading_hours=[]),
                      activity=RUNNING)[0]


def test_observe_follows_the_watchdog_the_risk_engine_and_the_moderator() -> None:
    a = Activity()
    a = observe(a, BotStateReported(state="running", mode="demo", ts=1.0))
    assert (a.bot_state, a.mode) == ("running", "demo")
    a = observe(a, TradingStateChanged(previous="ACTIVE", current="HALTED", by="limits",
                                       cause="daily loss", ts=2.0))
    assert a.halted
    a = observe(a, PauseStarted(request_id="r", minutes=5, until_ts=500.0, ts=3.0))
    assert a.paused_until == 500.0
    a = observe(a, PauseEnded(request_id="r", ts=4.0))
    assert a.paused_until == 0.0
    a = observe(a, ModeChanged(previous="demo", mode="off", requested_by="op", reason="x",
                               ts=5.0))
    assert a.mode == "off"


def test_next_off_market_is_the_end_of_the_current_window() -> None:
    assert next_off_market(at(0, 12), 0, DAY_HOURS) == at(0, 22)
    assert next_off_market(at(0, 23), 0, DAY_HOURS) == at(0, 23)
    assert next_off_market(at(0, 12), 0, [TradingWindow(start="00:00", end="00:00")]) is None


def test_periods_and_the_day_a_daily_analysis_is_about() -> None:
    assert period_key("daily", at(0, 1), 0) == "2026-11-22"
    assert period_key("weekly", at(0, 1), 0) == "2026-W47"
    assert period_key("weekly", at(1, 1), 0) == "2026-W48"
    assert previous_day(at(0, 1), 0) == "2026-11-21"
    assert period_key("daily", at(0, 23), 2 * 3600) == "2026-11-23"


def test_window_start_is_kept_while_off_and_forgotten_when_on() -> None:
    assert window_start(None, 10.0, True) == 10.0
    assert window_start(10.0, 20.0, True) == 10.0
    assert window_start(10.0, 30.0, False) is None


def test_every_enabled_job_is_due_once_per_period() -> None:
    cfg = config(jobs={"retrain": {"enabled": False}})
    due = due_jobs(at(0, 23), utc_offset_s=0, config=cfg, window=at(0, 22), history=[])
    assert [(d.job, d.key, d.attempt) for d in due] == [
        ("daily-logs", "2026-11-22", 1), ("risk-report", "2026-11-22", 1),
        ("code-audit", "2026-W47", 1), ("feature-proposals", "2026-W47", 1)]
    done = [Attempt(d.job, d.key, at(0, 22), True) for d in due]
    assert due_jobs(at(0, 23.5), utc_offset_s=0, config=cfg, window=at(0, 22),
                    history=done) == []
    monday = due_jobs(at(1, 23), utc_offset_s=0, config=cfg, window=at(1, 22), history=done)
    assert [d.key for d in monday] == ["2026-11-23", "2026-11-23", "2026-W48", "2026-W48"]
    done += [Attempt(d.job, d.key, at(1, 22), True) for d in monday]
    tuesday = due_jobs(at(2, 23), utc_offset_s=0, config=cfg, window=at(2, 22), history=done)
    assert [d.job for d in tuesday] == ["daily-logs", "risk-report"]


def test_a_failed_job_is_retried_once_and_only_in_the_next_window() -> None:
    cfg = config(jobs={name: {"enabled": name == "daily-logs"} for name in
                       ("daily-logs", "risk-report", "code-audit", "feature-proposals",
                        "retrain")})
    first = Attempt("daily-logs", "2026-11-22", at(0, 0), False)
    assert due_jobs(at(0, 1), utc_offset_s=0, config=cfg, window=at(0, 0),
                    history=[first]) == []
    retry = due_jobs(at(0, 22.5), utc_offset_s=0, config=cfg, window=at(0, 22),
                     history=[first])
    assert [(d.job, d.attempt) for d in retry] == [("daily-logs", 2)]
    second = Attempt("daily-logs", "2026-11-22", at(0, 22), False)
    assert due_jobs(at(0, 23.9), utc_offset_s=0, config=cfg, window=at(0, 23.8),
                    history=[first, second]) == []


def _halt(bot_id: str, current: str = "HALTED") -> TradingStateChanged:
    return TradingStateChanged(previous="ACTIVE", current=current,  # type: ignore[arg-type]
                               by="human", cause="x", ts=1.0, bot_id=bot_id)


def test_a_fleet_is_idle_only_when_every_bot_is() -> None:
    """One bot's halt or stop never stands for another's (docs/fleet.md)."""
    a = Activity(mode="paper")
    for bot in ("qe-1", "qe-2"):
        a = observe(a, BotStateReported(state="running", mode="paper", ts=1.0, bot_id=bot))
    a = observe(a, _halt("qe-2"))
    assert idle_reason(a, 0.0) == ""  # qe-1 trades on
    a = observe(a, BotStateReported(state="off", mode="off", ts=2.0, bot_id="qe-1"))
    assert idle_reason(a, 0.0) == ("every bot is idle (qe-1: the bot is off; qe-2: trading "
                                   "is halted)")
    a = observe(a, _halt("qe-2", "ACTIVE"))
    assert idle_reason(a, 0.0) == ""  # the newest report of qe-1 ("off") is not qe-2's


def test_the_one_bots_engine_names_no_bot_and_still_counts() -> None:
    a = observe(Activity(), BotStateReported(state="running", mode="paper", ts=1.0,
                                             bot_id="qe-1"))
    assert idle_reason(observe(a, _halt("")), 0.0) == "trading is halted"
