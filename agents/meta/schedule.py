"""When a Meta-Agent job may run: the off-market rule and the daily / weekly periods. Pure.

Time is passed in and nothing here reads a clock, the disk or the bus, so the
whole policy is tested with plain numbers.

* **Off-market** is outside every configured trading window, or whenever the
  bot is idle: its mode is ``off``, the watchdog reports it stopped, gave up or
  halted, the risk engine has trading HALTED, or the moderator's pause runs.
  Until the runner has heard from the watchdog it assumes the bot trades (unless
  the configured mode is ``off``): a job is never worth starting on a guess. In a
  fleet each bot's report and halt are kept by bot id, and the fleet is idle only
  when every bot is.
* **Periods.** A daily job runs once per local date, a weekly one once per ISO
  week, in the first off-market moment of the period.
* **Retry once, next window.** A failed run is tried again, but never in the
  same off-market window (a Meta-Agent that just timed out will most likely do
  it again at once), and at most ``max_attempts`` times per period in all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

from agents.meta.config import JOB_NAMES, WEEKDAYS, Every, JobName, MetaConfig, TradingWindow
from agents.moderator.messages import PauseEnded, PauseStarted
from agents.watchdog.messages import BotStateReported, ModeChanged
from bus.protocol import Message
from risk.messages import RiskStateSnapshot, TradingStateChanged

IDLE_STATES: Final = frozenset({"off", "stopped", "gave_up", "halted"})
"""Watchdog states in which the bot places no order."""
_DAY_S: Final = 86_400


@dataclass(frozen=True, slots=True)
class Activity:
    """What the runner knows of the bot, from the messages it heard."""

    mode: str = "paper"
    bot_state: str | None = None
    """The watchdog's last word; None before the first report."""
    halted: bool = False
    paused_until: float = 0.0
    states: Mapping[str, str] = field(default_factory=dict)
    """Each bot's watchdog word, by bot id: in a fleet one bot's report never stands
    for another's."""
    halts: Mapping[str, bool] = field(default_factory=dict)
    """Whether each bot's engine has trading HALTED, by bot id ("": the one bot's
    engine, which names no bot)."""


def observe(activity: Activity, message: Message) -> Activity:
    """The activity after one message (other messages leave it as it was)."""
    match message:
        case BotStateReported(state=state, mode=mode, bot_id=bot):
            return replace(activity, bot_state=state, mode=mode,
                           states={**activity.states, bot: state})
        case ModeChanged(mode=mode):
            return replace(activity, mode=mode)
        case RiskStateSnapshot(trading_state=state, bot_id=bot) | \
                TradingStateChanged(current=state, bot_id=bot):
            return replace(activity, halted=state == "HALTED",
                           halts={**activity.halts, bot: state == "HALTED"})
        case PauseStarted(until_ts=until):
            return replace(activity, paused_until=until)
        case PauseEnded():
            return replace(activity, paused_until=0.0)
    return activity


def idle_reason(activity: Activity, now: float) -> str:
    """Why the bot is not trading now; empty when it may be. In a fleet every bot must
    be idle: a job is not started while any bot trades."""
    bots = _bots(activity)
    if activity.mode == "off" and len(bots) <= 1:  # a fleet's bots each report their own
        return "the bot's mode is off"
    why = {bot: _idle(state, halted) for bot, (state, halted) in bots.items()}
    if all(why.values()):
        if len(why) == 1:
            return next(iter(why.values()))
        return "every bot is idle (" + "; ".join(f"{b}: {w}" for b, w in why.items()) + ")"
    if activity.paused_until > now:
        return "the bot is paused by the moderator"
    return ""


def _bots(activity: Activity) -> dict[str, tuple[str | None, bool]]:
    """(watchdog word, halted) of each bot heard of; the one bot's under "" when none
    was named."""
    ids = sorted({*activity.states, *(b for b in activity.halts if b)})
    if not ids:
        return {"": (activity.bot_state, activity.halted)}
    fallback = activity.halts.get("", False)
    return {b: (activity.states.get(b), activity.halts.get(b, fallback)) for b in ids}


def _idle(state: str | None, halted: bool) -> str:
    if state in IDLE_STATES:
        return f"the bot is {state}"
    if halted:
        return "trading is halted"
    return ""


def in_trading_hours(now: float, utc_offset_s: int, windows: Sequence[TradingWindow]) -> bool:
    local = now + utc_offset_s
    midnight = local - local % _DAY_S
    for window in windows:
        start, length = _bounds(window)
        for day_start in (midnight, midnight - _DAY_S):  # a window may start yesterday
            weekday = WEEKDAYS[datetime.fromtimestamp(day_start, UTC).weekday()]
            if weekday in window.days and day_start + start <= local < day_start + start + length:
                return True
    return False


def off_market(now: float, *, utc_offset_s: int, config: MetaConfig,
               activity: Activity) -> tuple[bool, str]:
    """(whether a job may start now, why in words)."""
    idle = idle_reason(activity, now)
    if idle:
        return True, idle
    if in_trading_hours(now, utc_offset_s, config.trading_hours):
        return False, f"inside trading hours ({describe_hours(config.trading_hours)})"
    return True, "outside trading hours"


def next_off_market(now: float, utc_offset_s: int,
                    windows: Sequence[TradingWindow]) -> float | None:
    """The first time from ``now`` outside every window; None if there is none this week."""
    if not in_trading_hours(now, utc_offset_s, windows):
        return now
    local = now + utc_offset_s
    midnight = local - local % _DAY_S
    ends = sorted({midnight + day * _DAY_S + start + length - utc_offset_s
                   for window in windows for start, length in (_bounds(window),)
                   for day in range(-1, 8)})
    return next((end for end in ends if end > now
                 and not in_trading_hours(end, utc_offset_s, windows)), None)


def describe_hours(windows: Sequence[TradingWindow]) -> str:
    if not windows:
        return "none"
    return ", ".join(f"{window.start}-{window.end} {_days(window.days)}" for window in windows)


def period_key(every: Every, now: float, utc_offset_s: int) -> str:
    """``2026-11-22`` for a daily job, ``2026-W47`` for a weekly one (local time)."""
    local = datetime.fromtimestamp(now + utc_offset_s, UTC)
    if every == "daily":
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def previous_day(now: float, utc_offset_s: int) -> str:
    """The last complete local day: what a daily log analysis is about."""
    local = datetime.fromtimestamp(now + utc_offset_s, UTC)
    return (local.date() - timedelta(days=1)).isoformat()


def window_start(previous: float | None, now: float, off: bool) -> float | None:
    """When the current off-market window began (None while the market is on)."""
    if not off:
        return None
    return now if previous is None else previous


class Attempt(NamedTuple):
    """One finished scheduled run, as the runner remembers (or rebuilds) it."""

    job: str
    key: str
    window: float
    ok: bool


class Due(NamedTuple):
    job: JobName
    key: str
    attempt: int
    """1 for the first try; 2 for the retry."""


def due_jobs(now: float, *, utc_offset_s: int, config: MetaConfig, window: float,
             history: Iterable[Attempt]) -> list[Due]:
    """The jobs to run now, in the order of :data:`JOB_NAMES`; the caller checked off-market."""
    past = list(history)
    found: list[Due] = []
    for job in JOB_NAMES:
        if not config.jobs.get(job).enabled:
            continue
        key = period_key(config.cadence(job), now, utc_offset_s)
        tries = [a for a in past if a.job == job and a.key == key]
        if any(a.ok for a in tries) or len(tries) >= config.max_attempts:
            continue
        if tries and tries[-1].window == window:
            continue  # failed in this window: the retry waits for the next one
        found.append(Due(job, key, len(tries) + 1))
    return found


def _bounds(window: TradingWindow) -> tuple[int, int]:
    """(start, length) in seconds from the local midnight of the day it starts on."""
    start = _minutes(window.start) * 60
    length = (_minutes(window.end) * 60 - start) % _DAY_S
    return start, length or _DAY_S


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _days(days: Sequence[str]) -> str:
    return "every day" if set(days) == set(WEEKDAYS) else "on " + ",".join(days)
