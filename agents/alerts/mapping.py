"""Which events are alerts, and what they say: short plain text a phone shows whole.

Pure: a message and the little state it needs go in, alerts come out. Heartbeats
and snapshots are never alerts in themselves; their absence is (the watchdog's
``hung``), and a snapshot only when a loss or drawdown crosses
``limit_warning_fraction`` of its limit (once per crossing: it re-arms when the value
falls back under). Every value from outside (a reason, a bot id, a detail) is shown
through ``kernel/untrusted.py``, so a chat shows it as one line of text and it cannot
pass for our words. A halt's alert carries the command that lifts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from agents.alerts.config import AlertSeverity
from agents.audit.messages import DailyAuditCompleted
from agents.moderator.messages import AdviceApplied, LlmBudgetReported
from agents.watchdog.messages import BotStateReported
from bus.protocol import OrderDecision
from kernel.events import AnomalyDetected, BotLifecycleChanged, KernelStateChanged
from kernel.untrusted import ident, one_line, quoted
from risk.messages import ManualCloseFlagged, ReasonView, RiskStateSnapshot, TradingStateChanged

BODY_LIMIT = 1200
"""Characters of an alert's text; a phone's notification shows about this much."""
_LIMITS = (("daily loss", "daily_loss", "max_daily_loss"),
           ("drawdown", "drawdown", "max_drawdown"),
           ("trailing drawdown", "trailing_drawdown", "max_trailing_drawdown"))


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One alert: ``key`` says which are "the same alert" for the repeat window."""

    kind: str
    severity: AlertSeverity
    key: str
    title: str
    body: str
    ts: float
    bot: str = ""
    """In a fleet, the one bot the alert is about (its engine's halt, its limit); "":
    trading as a whole, or the one bot."""


def _alert(kind: str, severity: AlertSeverity, subject: str, title: str,
           lines: Sequence[str], ts: float, bot: str = "") -> Alert:
    body = "\n".join(one_line(line, 400) for line in lines if line) or one_line(title, 120)
    if bot:
        subject, title = f"{bot}/{subject}", f"bot {ident(bot)}: {title}"
    return Alert(kind=kind, severity=severity, key=f"{kind}/{subject}",
                 title=one_line(title, 120), body=body[:BODY_LIMIT], ts=ts, bot=bot)


def _reasons(reasons: Sequence[ReasonView]) -> list[str]:
    lines = []
    for reason in reasons:
        lines.append(f"{reason.level} {ident(reason.code)}: {quoted(reason.text, 200)}")
        if reason.way_out:
            lines.append(f"to lift it: {reason.way_out}")
    return lines


def state_alert(event: TradingStateChanged) -> Alert | None:
    """A halt, a resume, or trading cut to reducing; the reasons in force and their way out."""
    cause = f"{event.by}: {quoted(event.cause, 200)}"
    if event.current == "HALTED":
        codes = ",".join(sorted(r.code for r in event.reasons))
        return _alert("halt", "critical", f"{codes}/{event.ts}",
                      "Trading HALTED", [cause, *_reasons(event.reasons)], event.ts,
                      event.bot_id)
    if event.current == "REDUCING":
        return _alert("reducing", "warning", ",".join(sorted(r.code for r in event.reasons)),
                      "Trading REDUCING (no new exposure)", [cause, *_reasons(event.reasons)],
                      event.ts, event.bot_id)
    if event.previous != "ACTIVE":
        return _alert("resume", "info", f"{event.ts}", "Trading ACTIVE again",
                      [f"was {event.previous}", cause], event.ts, event.bot_id)
    return None


def near_limits(snapshot: RiskStateSnapshot, fraction: float,
                armed: frozenset[str]) -> tuple[list[Alert], frozenset[str]]:
    """``limit_near`` for each limit that crossed ``fraction`` of itself; the limits
    now above it (each alerts again only after falling back under). In a fleet each
    bot's limits are marked apart (``<bot> <limit>``), so one bot's snapshot under a
    limit never re-arms another bot's."""
    bot = snapshot.bot_id
    mine = {f"{bot} {name}" if bot else name for name, _, _ in _LIMITS}
    alerts, above = [], set()
    for name, value_field, limit_field in _LIMITS:
        value, limit = getattr(snapshot, value_field), getattr(snapshot, limit_field)
        if value is None or limit is None or limit <= 0:
            continue
        used = value / limit
        if used < Decimal(str(fraction)):
            continue
        mark = f"{bot} {name}" if bot else name
        above.add(mark)
        if mark not in armed:
            alerts.append(_alert(
                "limit_near", "warning", name, f"{name} at {used * 100:.0f} % of its limit",
                [f"{name} {value} of {limit} ({snapshot.day}); at 100 % trading halts"],
                snapshot.ts, bot))
    others = {a for a in armed if a not in mine}
    return alerts, frozenset(above | others)


def lifecycle_alert(event: BotLifecycleChanged) -> Alert | None:
    bot = ident(event.bot_id)
    if event.state == "hung":
        return _alert("bot_hung", "critical", event.bot_id, f"bot {bot} is hung",
                      [quoted(event.detail, 300), "the watchdog acts per watchdog.yaml on_hang"],
                      event.ts)
    if event.state == "gave_up":
        return _alert("bot_gave_up", "critical", event.bot_id,
                      f"bot {bot}: the watchdog gave up", [
                          quoted(event.detail, 300), "the bot stays down and trading halted; "
                          'fix it, then: kernel mode paper|demo --reason "<why>"'], event.ts)
    return None


def kernel_alert(event: KernelStateChanged) -> Alert | None:
    reason = quoted(event.reason, 300) if event.reason else ""
    if event.state == "running":
        return _alert("kernel_started", "info", f"{event.ts}", "Supervisor started",
                      [reason], event.ts)
    if event.state == "stopping":
        return _alert("kernel_stopping", "warning", f"{event.ts}", "Supervisor stopping",
                      [reason, "while it is down no order is allowed"], event.ts)
    if event.state == "halted":
        return _alert("kernel_halted", "critical", f"{event.ts}", "Supervisor HALTED", [
            reason, "the gate is closed and the kernel stops; see its log, then kernel run"],
            event.ts)
    return None


def daily_alert(event: DailyAuditCompleted) -> Alert | None:
    """The all-clear (or not) after the daily audit; an on-demand report is not news."""
    if not event.complete:
        return None
    troubles = len(event.halts) + len(event.limits_fired) + event.bots.crashes \
        + event.bots.hangs + event.bots.gave_up
    worst = {a.worst for a in event.anomalies}
    clear = troubles == 0 and not worst & {"error", "critical"}
    title = f"Daily audit {event.day}: " + ("all clear" if clear else "needs a look")
    pnl, trades = event.pnl, event.trades
    return _alert("daily_summary", "info" if clear else "warning", event.day, title, [
        f"realised PnL {pnl.realized_pnl}, fees {pnl.fees}, trades {trades.trades} "
        f"({trades.wins} won, {trades.losses} lost)",
        f"orders {event.orders.requested} asked, {event.orders.denied} denied; "
        f"halts {len(event.halts)}, limits fired {len(event.limits_fired)}",
        f"bot restarts {event.bots.restarts}, anomalies {sum(a.count for a in event.anomalies)}",
        f"chain head #{event.chain_seq}: {event.chain_head[:16]}" if event.chain_head else "",
    ], event.ts)


def budget_alert(report: LlmBudgetReported,
                 armed: frozenset[str]) -> tuple[list[Alert], frozenset[str]]:
    """Once per day that the budget runs out (the reports that follow say it again)."""
    mark = f"llm budget {report.day}"
    if not report.exhausted or mark in armed:
        return [], armed
    kept = frozenset(a for a in armed if not a.startswith("llm budget "))
    return [_alert("llm_budget_exhausted", "warning", report.day, "LLM budget spent",
                   [f"{report.used_tokens} of {report.daily_tokens} tokens on {report.day}; "
                    "the offline rules answer until the next day"], report.ts)], kept | {mark}


def other_alert(message: object, now: float) -> Alert | None:
    """The events that map one to one (no state, no choice of words)."""
    match message:
        case ManualCloseFlagged(reason=reason, ts=ts, positions=positions):
            held = ", ".join(f"{ident(s)} {q}" for s, q in sorted(positions.items()))
            return _alert("manual_close_needed", "critical", "positions",
                          "Close positions by hand", [quoted(reason, 300),
                                                      f"open: {held or 'see kernel status'}"], ts)
        case AnomalyDetected(kind="restart_storm", detail=detail, ts=ts, source=source):
            subject = detail.partition(":")[0][:80]  # the auditor's "bot qe-1: 3 restarts ..."
            return _alert("crash_loop", "error", subject, "Crash loop",
                          [quoted(detail, 300), f"seen by {ident(source)}"], ts)
        case OrderDecision(code="journal_unavailable", reason=reason):
            return _alert("journal_unavailable", "critical", "journal",
                          "Journal unavailable: orders denied", [quoted(reason, 300)], now)
        case AdviceApplied(dry_run=False, action=action, detail=detail, ts=ts):
            return _alert("moderator_applied", "warning", f"{action}/{ts}",
                          f"Moderator applied {ident(action)}", [quoted(detail, 300)], ts)
    return None


SCOPED_KINDS = frozenset({"halt", "reducing", "resume", "limit_near", "manual_close_needed",
                          "journal_unavailable", "kernel_stopping", "kernel_halted"})
"""Alerts about trading as a whole: they name the bots it concerns."""


def with_bots(alert: Alert, bots: Sequence[str]) -> Alert:
    """``alert`` naming the bots it concerns: its own bot, else those the kernel
    supervises now."""
    if alert.kind not in SCOPED_KINDS:
        return alert
    names = ident(alert.bot) if alert.bot else \
        ", ".join(ident(b) for b in sorted(bots)) or "none connected"
    return msgspec.structs.replace(alert, body=f"bots: {names}\n{alert.body}"[:BODY_LIMIT])


def alerts_for(message: object, *, now: float, fraction: float,
               armed: frozenset[str]) -> tuple[list[Alert], frozenset[str]]:
    """The alerts one message makes, and the limits above ``fraction`` now."""
    match message:
        case RiskStateSnapshot():
            return near_limits(message, fraction, armed)
        case LlmBudgetReported():
            return budget_alert(message, armed)
        case TradingStateChanged():
            found = state_alert(message)
        case BotLifecycleChanged():
            found = lifecycle_alert(message)
        case KernelStateChanged():
            found = kernel_alert(message)
        case DailyAuditCompleted():
            found = daily_alert(message)
        case BotStateReported():
            found = None  # state reports are routine; hangs come as lifecycle events
        case _:
            found = other_alert(message, now)
    return ([found] if found is not None else []), armed
