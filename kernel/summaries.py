"""One-line, human summaries of bus messages, for ``kernel tap`` and logs.

Text from outside (a bot's ids, symbols and output, a reason the LLM or a person
wrote) is shown through :mod:`kernel.untrusted`: names bare when they are plain
words, free text in quotes, and every summary is one line with control
characters shown, so no message can forge a line or colour a terminal.

Works on the decoded builtins (a dict with a ``type``) rather than on Structs,
so a viewer can show messages from newer kernels or remote actors it does not
know the types of. Severity follows the same rule: a type we do not know is
``info``, never an error, because not knowing a message is not bad news.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from kernel._alert_summaries import ALERT_SUMMARIES
from kernel._feeds_summaries import FEEDS_SUMMARIES
from kernel._feeds_summaries import feeds_line as feeds_line
from kernel._meta_summaries import META_SUMMARIES
from kernel._moderator_summaries import MODERATOR_SUMMARIES
from kernel._moderator_summaries import status_lines as status_lines
from kernel._plan_summaries import PLAN_SUMMARIES
from kernel.event_format import SEVERITIES as EVENT_SEVERITIES
from kernel.event_format import severity as event_severity
from kernel.untrusted import ident, one_line, quoted

Summary = Callable[[dict[str, Any]], str]


def _money(value: Any) -> str:
    """``1,234.56`` for numbers and numeric strings (Decimals travel as strings)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return str(value)
    return f"{value:,.2f}" if isinstance(value, int | float) else str(value)


def _price(value: Any) -> str:
    """Cents for large prices, six significant digits for small ones (0.000123)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return str(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.2f}"
    if value == 0:
        return "0"
    decimals = max(2, 5 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _secs(value: Any) -> str:
    return f"{value:.0f}s" if isinstance(value, int | float) else "?"


def _heartbeat(m: dict[str, Any]) -> str:
    pnl = (m.get("realized_pnl") or 0) + (m.get("unrealized_pnl") or 0)
    return (f"{ident(m.get('bot_id'))} #{m.get('seq')} equity {_money(m.get('equity'))} "
            f"pnl {pnl:+,.2f} positions {len(m.get('positions') or [])} "
            f"up {m.get('uptime_s', 0):.0f}s")


def _order_request(m: Mapping[str, Any]) -> str:
    flags = " reduce-only" if m.get("reduce_only") else ""
    return (f"{ident(m.get('bot_id'))} {ident(m.get('request_id'))} {m.get('side')} "
            f"{m.get('qty')} {ident(m.get('symbol'))} @ {_price(m.get('price'))}{flags}")


def _order_decision(m: dict[str, Any]) -> str:
    return (f"{m.get('verdict')} {ident(m.get('request_id'))} [{ident(m.get('code'))}] "
            f"{m.get('reason')}")


def summarize_decision(decision: Mapping[str, Any], request: Mapping[str, Any] | None) -> str:
    """A decision told with the order it answers, when the tap saw the request:
    ``DENY buy 0.5 BTCUSDT @ 60,000.00 [daily_loss_limit]: daily loss 300 reached``."""
    if request is None:
        return _order_decision(dict(decision))
    flags = " reduce-only" if request.get("reduce_only") else ""
    code = "" if decision.get("verdict") == "ALLOW" else f" [{ident(decision.get('code'))}]"
    return one_line(f"{decision.get('verdict')} {request.get('side')} {request.get('qty')} "
                    f"{ident(request.get('symbol'))} @ {_price(request.get('price'))}{flags}"
                    f"{code}: {decision.get('reason')}")


def _params(m: Mapping[str, Any]) -> str:
    """A command's parameters, ``minutes=30 reason="..."``: a reason may be the LLM's."""
    params = m.get("params")
    if not isinstance(params, dict) or not params:
        return ""
    return " " + " ".join(f"{ident(k)}={v if isinstance(v, int | float) else quoted(v)}"
                          for k, v in params.items())


def _fill(m: dict[str, Any]) -> str:
    return (f"{ident(m.get('bot_id'))} {m.get('side')} {m.get('qty')} {ident(m.get('symbol'))} "
            f"@ {_price(m.get('price'))} fee {_price(m.get('fee'))}")


def _order_update(m: dict[str, Any]) -> str:
    left = m.get("remaining_qty")
    return (f"{ident(m.get('bot_id'))} {ident(m.get('request_id'))} {m.get('status')}"
            + (f" venue {ident(m['venue_order_id'])}" if m.get("venue_order_id") else "")
            + (f" remaining {left}" if left is not None else "")
            + (f": {quoted(m['reason'])}" if m.get("reason") else ""))


def _bot_state(m: dict[str, Any]) -> str:
    age = m.get("last_heartbeat_age_s")
    beat = f" beat {age:.1f}s ago" if isinstance(age, int | float) else ""
    line = (f"{ident(m.get('bot_id') or '?')} {m.get('state')} {m.get('mode')} "
            f"pid {m.get('pid')} "
            f"up {_secs(m.get('uptime_s'))}{beat} equity {_money(m.get('equity'))} "
            f"restarts {m.get('restarts', 0)}")
    return line + (f": {m['detail']}" if m.get("state") != "running" and m.get("detail") else "")


def _reasons(m: Mapping[str, Any]) -> str:
    texts = [reason_line(r) for r in m.get("reasons") or () if isinstance(r, dict)]
    return f": {'; '.join(texts)}" if texts else ""


def _clock(ts: object) -> str:
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def reason_line(reason: Mapping[str, Any]) -> str:
    """Why trading is held, since when, and the way out (the command, or when it lifts
    itself): every screen that shows a non-ACTIVE state says all three."""
    line = str(reason.get("text") or reason.get("code"))
    if reason.get("since") is not None:
        line += f" (since {_clock(reason['since'])})"
    if reason.get("way_out"):
        line += f"; way out: {reason['way_out']}"
    if reason.get("lifts_at") is not None:
        line += f" (at {_clock(reason['lifts_at'])})"
    return line


def _risk_snapshot(m: dict[str, Any]) -> str:
    line = (f"{m.get('trading_state')} daily loss {_money(m.get('daily_loss'))}/"
            f"{_money(m.get('max_daily_loss'))} drawdown {_money(m.get('drawdown'))}/"
            f"{_money(m.get('max_drawdown'))} leverage {_money(m.get('leverage'))}x/"
            f"{_money(m.get('max_leverage'))}x")
    if m.get("manual_close_needed"):
        line += " MANUAL CLOSE NEEDED"
    return line + _reasons(m)


def _trading_state_changed(m: dict[str, Any]) -> str:
    return (f"{m.get('previous')} -> {m.get('current')} by {m.get('by')} "
            f"({m.get('cause')}){_reasons(m)}")


def _limit_tripped(m: dict[str, Any]) -> str:
    return (f"{m.get('code')}: {m.get('reason')} ({_money(m.get('value'))} of "
            f"{_money(m.get('limit'))}), then {m.get('action')}")


def _limit_warning(m: dict[str, Any]) -> str:
    try:
        share = f"{float(m.get('ratio') or 0) * 100:.0f}%"
    except (TypeError, ValueError):
        share = "?"
    return f"{m.get('scope')} {m.get('code')} at {share} of its limit: {m.get('text')}"


def _manual_close(m: dict[str, Any]) -> str:
    positions = m.get("positions") or {}
    if not isinstance(positions, dict):
        positions = {}
    held = ", ".join(f"{ident(k)} {v}" for k, v in positions.items())
    return f"MANUAL CLOSE NEEDED: {m.get('reason')}" + (f" (open: {held})" if held else "")


def _bot_exited(m: dict[str, Any]) -> str:
    lines = m.get("last_lines") or []
    tail = f"; last output: {quoted(lines[-1])}" if lines else ""
    how = "stopped as asked" if m.get("expected") else "ended unexpectedly"
    # The watchdog's description already names the code or the signal: say it once.
    why = m.get("description") or f"exit code {m.get('exit_code')}"
    return f"pid {m.get('pid')} {how} ({one_line(why)}) after {_secs(m.get('uptime_s'))}{tail}"


def _daily_audit(m: dict[str, Any]) -> str:
    trades, pnl, orders = m.get("trades") or {}, m.get("pnl") or {}, m.get("orders") or {}
    rate = trades.get("win_rate_pct")
    return (f"audit {m.get('day')}{'' if m.get('complete') else ' (so far)'}: "
            f"{trades.get('trades', 0)} trades, win rate {rate if rate is not None else 'n/a'}"
            f"{' %' if rate is not None else ''}, realised {_money(pnl.get('realized_pnl'))} "
            f"USDT, {orders.get('denied', 0)} denied, {len(m.get('halts') or ())} state changes"
            + ("" if m.get("traded") else "; no trading"))


_SUMMARIES: dict[str, Summary] = {
    "heartbeat": _heartbeat,
    "order_request": _order_request,
    "order_decision": _order_decision,
    "fill": _fill,
    "order_update": _order_update,
    "orders_released": lambda m: f"{len(m.get('request_ids') or ())} unconfirmed orders no "
                                 f"longer reserve exposure: {quoted(m.get('reason'))}",
    "hello": lambda m: f"{ident(m.get('bot_id'))} mode={m.get('mode')} pid={m.get('pid')}",
    "command_ack": lambda m: f"{ident(m.get('command_id'))} ok={m.get('ok')} "
                             f"{quoted(m.get('detail', ''))}",
    "command": lambda m: f"{m.get('action')} {ident(m.get('command_id'))}{_params(m)}",
    "error": lambda m: f"[{m.get('code')}] {m.get('reason')}",
    "anomaly": lambda m: f"{m.get('severity')} {m.get('kind')} ({ident(m.get('source'))}): "
                         f"{m.get('detail', '')}",
    "actor_status": lambda m: f"{m.get('actor')} {m.get('state')} {m.get('detail', '')}".strip(),
    "kernel_state": lambda m: f"{m.get('state')} {m.get('reason', '')}".strip(),
    "bot_lifecycle": lambda m: f"{ident(m.get('bot_id'))} {m.get('state')} "
                               f"{m.get('detail', '')}".strip(),
    "bot_state": _bot_state,
    "bot_exited": _bot_exited,
    "mode_changed": lambda m: f"mode {m.get('previous')} -> {m.get('mode')} by "
                              f"{ident(m.get('requested_by'))}: {quoted(m.get('reason'))}",
    "mode_change_requested": lambda m: f"mode -> {m.get('mode')} asked by "
                                       f"{ident(m.get('requested_by'))}: "
                                       f"{quoted(m.get('reason'))}",
    "trading_halt_requested": lambda m: f"halt asked by {m.get('source')} "
                                        f"[{m.get('code')}]: {m.get('reason')}",
    "operator_command": lambda m: f"{m.get('action')} by {ident(m.get('user'))}: "
                                  f"{quoted(m.get('reason'))}"
                                  + (" (confirmed)" if m.get("confirmed") else ""),
    "operator_command_refused": lambda m: f"{m.get('action')} by {ident(m.get('user'))} "
                                          f"refused: {m.get('reason')}",
    "operator_answer": lambda m: f"{m.get('action')} {ident(m.get('request_id'))} "
                                 f"{m.get('outcome')}: {m.get('detail')}",
    "decided_ahead": lambda m: f"{ident(m.get('request_id'))} decided before the engine took "
                               f"the last {m.get('facts')} fact(s) (for kernel replay)",
    "shadow_decision": lambda m: f"shadow limits: {ident(m.get('request_id'))} "
                                 f"{m.get('side')} {m.get('qty')} {ident(m.get('symbol'))} "
                                 f"{m.get('verdict')} {ident(m.get('code'))}, shadow "
                                 f"{m.get('shadow_verdict')} {ident(m.get('shadow_code'))}: "
                                 f"{m.get('shadow_reason')}",
    "risk_snapshot": _risk_snapshot,
    "trading_state_changed": _trading_state_changed,
    "limit_tripped": _limit_tripped,
    "limit_warning": _limit_warning,
    "close_all_requested": lambda m: f"close all: {m.get('reason')}",
    "manual_close_flagged": _manual_close,
    "flat_confirmed": lambda m: "flat: no open position",
    "day_rolled": lambda m: f"new trading day {m.get('day')} (was {m.get('previous_day')})",
    "risk_multiplier_changed": lambda m: f"risk multiplier {m.get('previous')} -> "
                                         f"{m.get('current')}: {quoted(m.get('reason'))}"
                                         + (f"; {m['until']}" if m.get("until") else ""),
    "risk_anomaly": lambda m: f"{m.get('kind')}: {m.get('detail')}",
    "daily_audit": lambda m: _daily_audit(m),
    "trade_closed": lambda m: f"{ident(m.get('bot_id'))} {m.get('direction')} {m.get('qty')} "
                              f"{ident(m.get('symbol'))} {_money(m.get('entry_price'))} -> "
                              f"{_money(m.get('exit_price'))}: {_money(m.get('pnl'))} USDT",
    **PLAN_SUMMARIES,
    **MODERATOR_SUMMARIES,
    **META_SUMMARIES,
    **FEEDS_SUMMARIES,
    **ALERT_SUMMARIES,
}


def summarize(body: Any) -> str:
    """The best one-line summary we know for a decoded payload."""
    if not isinstance(body, dict):
        return one_line(repr(body), 200)
    kind = body.get("type")
    summary = _SUMMARIES.get(kind) if isinstance(kind, str) else None
    if summary is not None:
        try:
            return one_line(summary(body))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError):
            pass  # a malformed body still gets the generic form below
    fields = " ".join(f"{ident(k)}={v!r}" for k, v in body.items() if k != "type")
    return one_line(f"{ident(kind or '?')} {fields}", 300)


SEVERITIES = EVENT_SEVERITIES


def severity(body: Any) -> str:
    """debug / info / warning / error / critical, for colouring lines: the journal's
    own rule (:func:`kernel.event_format.severity`), so a line and its row agree."""
    return event_severity(body)
