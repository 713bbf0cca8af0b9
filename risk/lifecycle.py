"""Creating the state, the day rollover, and what people do: halt, reduce, resume.

Every function returns the new state and the events to publish. Halts by a
person are sticky: only ``resume`` ends them. Halts by the daily limits end at
the day rollover; halts by the trailing drawdown and the loss streak outlive it,
since their point is to catch a bleed that crosses midnight.
"""

from __future__ import annotations

from typing import Final

import msgspec

from risk.days import day_of
from risk.limits import RiskLimits
from risk.messages import Actor, DayRolled, RiskEvent
from risk.money import ZERO
from risk.multiplier import end_of_day, set_multiplier
from risk.orders import release_unconfirmed
from risk.reasons import add_reason, drop_reasons, expire_day_reasons, state_change
from risk.state import ReconcileMode, Reconciliation, RiskState

Step = tuple[RiskState, list[RiskEvent]]
"""A transition's result: the new state and the events it caused."""


def initial_state(limits: RiskLimits, now: float) -> RiskState:
    """A state with no knowledge yet: REDUCING until the first heartbeat anchors the ledger."""
    state = RiskState(day=day_of(now, limits.utc_offset_s),
                      risk_multiplier=limits.risk_multiplier.default)
    return add_reason(state, "REDUCING", "awaiting_heartbeat",
                      "waiting for the bot's first heartbeat", now, "heartbeat")


def after_restart(state: RiskState, limits: RiskLimits, now: float) -> Step:
    """A state restored from storage: REDUCING until a heartbeat agrees with the ledger.

    The halts, the day's start equity and the loss streak are kept as they were:
    a halted day stays halted and the daily loss does not reset on a restart.
    """
    mode: ReconcileMode = "verify" if state.cash is not None else "adopt"
    restored = msgspec.structs.replace(state, reconciliation=Reconciliation(mode=mode))
    restored = add_reason(restored, "REDUCING", "awaiting_reconciliation",
                          "restarted: waiting for a heartbeat to reconcile positions with "
                          "the ledger", now, "heartbeat")
    rolled, events = roll_day(restored, limits, now)
    return rolled, [*state_change(state, restored, now, "restart", "restart"), *events]


def roll_day(state: RiskState, limits: RiskLimits, now: float) -> Step:
    """Begin a new trading day when ``now`` has crossed the boundary (else no change).

    The start equity and the high-water mark wait for the new day's first
    heartbeat; the realised PnL of the day starts at zero; day-scoped halts end
    (see ``expire_day_reasons`` for when they are carried over instead).
    """
    today = day_of(now, limits.utc_offset_s)
    if today <= state.day:
        return state, []
    rolled = msgspec.structs.replace(state, day=today, start_equity=None, high_water=None,
                                     realized_pnl=ZERO)
    rolled = expire_day_reasons(rolled)
    events: list[RiskEvent] = [DayRolled(previous_day=state.day, day=today, ts=now)]
    events += state_change(state, rolled, now, "rollover", "day rollover")
    rolled, restored = end_of_day(rolled, limits, now, state.day)  # an adviser's cut ends
    return rolled, events + restored


def halt(state: RiskState, reason: str, now: float, *, code: str = "manual_halt",
         by: Actor = "human") -> Step:
    """A person halts trading (``kernel halt --reason``); it stays until ``resume``.

    Another component that lost control of something (the watchdog, when the
    bot gave up or hung) halts the same way under its own ``code`` and ``by``,
    so that the reasons say who halted and a person still decides the resume.
    """
    text = f"halted by hand: {reason}" if code == "manual_halt" else reason
    halted = add_reason(state, "HALTED", code, text, now, "sticky")
    return halted, [*state_change(state, halted, now, by, f"halt: {reason}")]


def reduce(state: RiskState, reason: str, now: float) -> Step:
    """A person allows only closing orders until ``resume``."""
    reduced = add_reason(state, "REDUCING", "manual_reduce", f"reducing by hand: {reason}",
                         now, "sticky")
    return reduced, [*state_change(state, reduced, now, "human", f"reduce: {reason}")]


_BASES: Final = {"daily_loss_limit": "start_equity", "drawdown_limit": "high_water",
                 "trailing_drawdown_limit": "peak"}
"""The base each loss limit is measured from, which a resume re-arms."""


def resume(state: RiskState, reason: str, limits: RiskLimits, now: float) -> Step:
    """A person resumes (``kernel resume --reason``): every halt ends and the limits
    that had tripped are re-armed from the equity of now.

    Re-arming is what makes a resume mean something: without it the same reached
    limit would halt again on the next check, or at the next small dip if the
    equity has recovered a little since the trip. So every limit that had tripped
    (its halt is among the reasons, whether or not it is still over its line) is
    re-armed: a daily loss or drawdown gets a fresh budget measured from the
    current equity; a trailing drawdown a new peak; a loss streak starts again at
    zero. Limits that had not tripped keep their bases. The reservations of orders
    reported unconfirmed end: a person has checked the venue. Waiting for a
    heartbeat is not a halt a person can lift: the engine still needs the facts.
    """
    tripped = state.reason_codes()
    equity = state.equity
    rebased = state
    for code, field in _BASES.items():
        if code in tripped and equity is not None and getattr(state, field) is not None:
            rebased = msgspec.structs.replace(rebased, **{field: equity})
    streak = 0 if "consecutive_losses" in tripped else state.consecutive_losses
    rebased = msgspec.structs.replace(
        rebased, consecutive_losses=streak, manual_close_needed=False, close_requested_at=None,
        reconciliation=msgspec.structs.replace(state.reconciliation,
                                               position_mismatch_since=None))
    rebased, released = release_unconfirmed(rebased, reason, now)
    resumed = drop_reasons(rebased, lambda r: r.scope != "heartbeat")
    return resumed, [*state_change(state, resumed, now, "human", f"resume: {reason}"), *released]


def set_risk_multiplier(state: RiskState, value: float, reason: str, limits: RiskLimits,
                        now: float, *, by: str = "operator", temporary: bool = False) -> Step:
    """Change the factor on the size limits; outside ``risk_multiplier`` bounds is a
    ``ValueError`` that names the bounds (the caller answers with it). ``by`` and
    ``temporary`` (an adviser's cut, which ends with the trading day): see
    ``risk.multiplier``."""
    return set_multiplier(state, value, by=by, reason=reason, limits=limits, now=now,
                          temporary=temporary)
