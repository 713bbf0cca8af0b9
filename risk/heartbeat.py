"""A heartbeat: fresh marks, the bot's view to check the ledger against, the day's start.

The heartbeat is where the ledger meets the bot's own account. Its marks value
the positions; its positions are adopted the first time (nothing better is
known), verified after a restart, and compared on every beat after that; its
equity is compared with the ledger's. Only the ledger's numbers feed the limits.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import msgspec

from bus.protocol import Heartbeat
from risk.breakers import check_limits
from risk.ledger import adopt, mismatches, unrealized, with_marks
from risk.lifecycle import Step, roll_day
from risk.limits import RiskLimits
from risk.messages import FlatConfirmed, RiskAnomalyDetected, RiskEvent
from risk.money import EXACT, HUNDRED, dec, is_positive_finite, money, qty, usdt
from risk.reasons import add_reason, drop_reasons, expire_day_reasons, state_change
from risk.state import Reconciliation, RiskState

_AWAITING = frozenset({"awaiting_heartbeat", "awaiting_reconciliation"})


def apply_heartbeat(state: RiskState, hb: Heartbeat, limits: RiskLimits, now: float) -> Step:
    """Take the marks, reconcile, set the day's start equity, confirm a requested
    close, and run the auto-halt check. A heartbeat with an impossible number is
    refused whole (an anomaly), so a half-read beat never moves the ledger."""
    state, events = roll_day(state, limits, now)
    problem = _problem(hb)
    if problem is not None:
        events.append(RiskAnomalyDetected(kind="invalid_heartbeat", detail=problem, ts=now))
        return state, events
    before = state
    last_tick = hb.last_tick_ts if hb.last_tick_ts is not None else state.last_tick_ts
    state = msgspec.structs.replace(
        state, positions=with_marks(state.positions, hb.positions, hb.last_tick_ts, hb.marks),
        bot_equity=dec(hb.equity), bot_realized_pnl=dec(hb.realized_pnl),
        bot_unrealized_pnl=dec(hb.unrealized_pnl), last_heartbeat_ts=now, last_tick_ts=last_tick)
    state, more = _reconcile(state, hb, limits, now)
    events += more
    state, more = _equity_check(_start_day(state), limits, now)
    events += more
    state, more = _confirm_flat(state, hb, now)
    events += more
    events += state_change(before, state, now, "reconcile", "heartbeat")
    state, more = check_limits(state, limits, now)
    return state, events + more


def take_marks(state: RiskState, hb: Heartbeat) -> RiskState:
    """Only the marks and tick times of a heartbeat, for the gateway to put in force
    synchronously before the link's next order (the full heartbeat follows over the
    bus and takes the same marks again). A beat :func:`apply_heartbeat` would refuse
    changes nothing here either."""
    if _problem(hb) is not None:
        return state
    last_tick = hb.last_tick_ts if hb.last_tick_ts is not None else state.last_tick_ts
    return msgspec.structs.replace(
        state, positions=with_marks(state.positions, hb.positions, hb.last_tick_ts, hb.marks),
        last_tick_ts=last_tick)


def _problem(hb: Heartbeat) -> str | None:
    numbers = [("equity", hb.equity), ("realized_pnl", hb.realized_pnl),
               ("unrealized_pnl", hb.unrealized_pnl)]
    if hb.last_tick_ts is not None:
        numbers.append(("last_tick_ts", hb.last_tick_ts))
    for symbol, price in hb.marks.items():
        if not is_positive_finite(price):
            return f"heartbeat refused: the mark of {symbol} must be positive and finite"
    for p in hb.positions:
        numbers.append((f"{p.symbol} qty", p.qty))
        if not (is_positive_finite(p.avg_price) and is_positive_finite(p.mark_price)):
            return f"heartbeat refused: {p.symbol} prices must be positive and finite"
    for name, value in numbers:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"heartbeat refused: {name} is {value!r}, not a finite number"
    return None


def _reconcile(state: RiskState, hb: Heartbeat, limits: RiskLimits, now: float) -> Step:
    """Adopt, verify, or compare the bot's positions, per ``Reconciliation.mode``."""
    mode = state.reconciliation.mode
    if mode == "adopt":
        positions = adopt(state.positions, hb.positions)
        with localcontext(EXACT):
            cash = money(dec(hb.equity) - unrealized(positions))
        state = msgspec.structs.replace(state, positions=positions, cash=cash,
                                        reconciliation=Reconciliation(mode="done"))
        return drop_reasons(state, lambda r: r.code in _AWAITING), []
    diffs = mismatches(state.positions, hb.positions, limits.reconcile.qty_tolerance_pct)
    if mode == "verify":
        state = drop_reasons(msgspec.structs.replace(state, reconciliation=Reconciliation(
            mode="done")), lambda r: r.code in _AWAITING)
        return _mismatched(state, hb, diffs, now, "after the restart") if diffs else (state, [])
    rec = state.reconciliation
    if not diffs:
        since = None
    elif rec.position_mismatch_since is None:
        since = now
    elif now - rec.position_mismatch_since >= limits.reconcile.grace_s:
        return _mismatched(state, hb, diffs, now, f"for over {limits.reconcile.grace_s:g} s")
    else:
        since = rec.position_mismatch_since
    return msgspec.structs.replace(state, reconciliation=msgspec.structs.replace(
        rec, position_mismatch_since=since)), []


def _mismatched(state: RiskState, hb: Heartbeat, diffs: list[tuple[str, Decimal, Decimal]],
                now: float, when: str) -> Step:
    """The bot's positions are taken (closing must stay possible on what really is
    open) and trading is held in REDUCING until a person has looked."""
    detail = "; ".join(f"{s} ledger {qty(ours)} vs bot {qty(bot)}" for s, ours, bot in diffs)
    text = f"positions disagree with the bot {when}: {detail}"
    state = msgspec.structs.replace(
        state, positions=adopt(state.positions, hb.positions),
        reconciliation=msgspec.structs.replace(state.reconciliation,
                                               position_mismatch_since=None))
    state = add_reason(state, "REDUCING", "ledger_mismatch", text[:1000], now, "sticky")
    return state, [RiskAnomalyDetected(kind="position_mismatch", detail=text[:1000], ts=now)]


def _equity_check(state: RiskState, limits: RiskLimits, now: float) -> Step:
    """The bot's equity against the ledger's: an anomaly once per lasting disagreement."""
    ours, theirs, rec = state.equity, state.bot_equity, state.reconciliation
    if ours is None or theirs is None:
        return state, []
    tol = max(dec(limits.reconcile.equity_tolerance_usdt),
              dec(limits.reconcile.equity_tolerance_pct) * abs(ours) / HUNDRED)
    if abs(ours - theirs) <= tol:
        fresh = msgspec.structs.replace(rec, equity_mismatch_since=None,
                                        equity_mismatch_reported=False)
        return msgspec.structs.replace(state, reconciliation=fresh), []
    since = now if rec.equity_mismatch_since is None else rec.equity_mismatch_since
    report = now - since >= limits.reconcile.grace_s and not rec.equity_mismatch_reported
    rec = msgspec.structs.replace(rec, equity_mismatch_since=since,
                                  equity_mismatch_reported=rec.equity_mismatch_reported or report)
    events: list[RiskEvent] = []
    if report:
        events.append(RiskAnomalyDetected(kind="equity_mismatch", ts=now, detail=(
            f"bot equity {usdt(theirs)} vs ledger equity {usdt(ours)}, beyond the tolerance "
            f"{usdt(tol)}")))
    return msgspec.structs.replace(state, reconciliation=rec), events


def _start_day(state: RiskState) -> RiskState:
    """The first heartbeat of the day fixes its start equity and high-water mark."""
    equity = state.equity
    if state.start_equity is not None or equity is None:
        return state
    peak = equity if state.peak is None else max(state.peak, equity)
    return msgspec.structs.replace(state, start_equity=equity, high_water=equity, peak=peak)


def _confirm_flat(state: RiskState, hb: Heartbeat, now: float) -> Step:
    """A beat with no open position ends a requested or flagged close."""
    pending = state.close_requested_at is not None or state.manual_close_needed
    if not pending or any(p.qty for p in hb.positions):
        return state, []
    state = msgspec.structs.replace(state, close_requested_at=None, manual_close_needed=False)
    return expire_day_reasons(state), [FlatConfirmed(ts=now)]
