"""The auto-halt: trip HALTED when a loss limit or the loss streak is reached.

``check_limits`` is run after every fact (heartbeat, fill) and may also be run
on a timer, since the ``close_all`` deadline passes with no fact arriving. It
is idempotent: a limit already in force is not tripped twice.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from risk.days import day_ends
from risk.lifecycle import Step, roll_day
from risk.limits import RiskLimits
from risk.measures import loss_measures
from risk.messages import CloseAllRequested, LimitTripped, ManualCloseFlagged, RiskEvent
from risk.orders import report_unconfirmed
from risk.reasons import add_reason, state_change
from risk.state import RiskState, Scope


def check_limits(state: RiskState, limits: RiskLimits, now: float) -> Step:
    """Roll the day if due, follow the equity marks, report the allowed orders the
    bot left unconfirmed (``risk.orders``), and halt on a reached limit.

    A loss limit (daily loss, drawdown, trailing drawdown) halts and then, per
    ``on_loss_halt``, either asks the bot to close everything (and flags a
    manual close if it is not flat within ``close_timeout_s``) or flags the
    manual close at once. The loss streak halts without closing: the positions
    it leaves can still be reduced.
    """
    state, events = roll_day(state, limits, now)
    before = state
    state, unconfirmed = report_unconfirmed(_revalue(state), limits, now)
    events += unconfirmed
    tripped: list[str] = []
    for measure in loss_measures(state, limits):
        if measure.breached and measure.code not in state.reason_codes():
            state, more = _trip(state, measure.code, measure.reason, measure.value,
                                measure.limit, measure.scope, limits, now)
            events += more
            tripped.append(measure.code)
    streak, most = state.consecutive_losses, limits.max_consecutive_losses
    if streak >= most and "consecutive_losses" not in state.reason_codes():
        text = f"{streak} consecutive losing trades have reached max_consecutive_losses {most}"
        state = add_reason(state, "HALTED", "consecutive_losses", text, now, "sticky")
        events.append(LimitTripped(code="consecutive_losses", reason=text, value=Decimal(streak),
                                   limit=Decimal(most), action="halt", ts=now))
        tripped.append("consecutive_losses")
    state, more = _close_deadline(state, limits, now)
    events += more
    events += state_change(before, state, now, "limits", ", ".join(tripped) or "limits")
    return state, events


def _revalue(state: RiskState) -> RiskState:
    """Raise the day's high-water mark and the all-time peak to the equity of now."""
    equity = state.equity
    if equity is None or state.start_equity is None:
        return state
    high = equity if state.high_water is None else max(state.high_water, equity)
    peak = equity if state.peak is None else max(state.peak, equity)
    if high == state.high_water and peak == state.peak:
        return state
    return msgspec.structs.replace(state, high_water=high, peak=peak)


def trip(state: RiskState, code: str, text: str, value: Decimal, limit: Decimal,
         limits: RiskLimits, now: float) -> Step:
    """Halt for a loss limit reached in a wider scope (the portfolio's, in a fleet): as
    the bot's own daily loss does, until the day rollover, closing per ``on_loss_halt``."""
    if code in state.reason_codes():
        return state, []
    before = state
    state, events = _trip(state, code, text, value, limit, "day", limits, now)
    return state, [*events, *state_change(before, state, now, "limits", code)]


def _trip(state: RiskState, code: str, text: str, value: Decimal, limit: Decimal, scope: str,
          limits: RiskLimits, now: float) -> Step:
    level_scope: Scope = "day" if scope == "day" else "sticky"
    until = day_ends(state.day, limits.utc_offset_s) if level_scope == "day" else None
    state = add_reason(state, "HALTED", code, text, now, level_scope, until=until)
    action = limits.on_loss_halt if not state.is_flat else "halt"
    events: list[RiskEvent] = [LimitTripped(code=code, reason=text, value=value, limit=limit,
                                            action=action, ts=now)]
    if action == "close_all" and state.close_requested_at is None:
        state = msgspec.structs.replace(state, close_requested_at=now)
        events.append(CloseAllRequested(reason=text, deadline_ts=now + limits.close_timeout_s,
                                        ts=now))
    elif action == "flag_manual_close" and not state.manual_close_needed:
        state, flagged = _flag(state, f"{text}; on_loss_halt is flag_manual_close", now)
        events += flagged
    return state, events


def _close_deadline(state: RiskState, limits: RiskLimits, now: float) -> Step:
    asked = state.close_requested_at
    if asked is None or state.manual_close_needed or now - asked < limits.close_timeout_s:
        return state, []
    return _flag(state, f"the bot did not confirm flat within close_timeout_s "
                 f"{limits.close_timeout_s:g} s of close_all", now)


def _flag(state: RiskState, reason: str, now: float) -> Step:
    open_positions = {s: p.qty for s, p in state.positions.items() if p.qty}
    flagged = msgspec.structs.replace(state, manual_close_needed=True)
    return flagged, [ManualCloseFlagged(reason=reason, positions=open_positions, ts=now)]
