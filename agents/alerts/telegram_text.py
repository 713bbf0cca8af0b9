"""What the Telegram bot says: the kernel's answers and its figures, in plain words.

Read from the control socket's snapshot, the one ``kernel status`` reads. In a fleet
(``paths.yaml`` ``bots:``) every bot's risk figures are read from its own entry
(``risk.state/<id>``), never from the newest of any bot, so one bot's halt or equity
is never shown as another's; ``/bots`` is the fleet table of ``kernel status``
(:mod:`kernel.fleet_view`) as lines. Every value from outside is shown on one line
(``kernel/untrusted.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from agents.alerts.commands import Command, describe
from kernel.control_protocol import (
    ActionAccepted,
    ActionAnswered,
    ControlError,
    ControlMessage,
    SnapshotReply,
)
from kernel.fleet_view import FleetBook, FleetRow
from kernel.untrusted import ident, one_line, quoted
from risk.messages import RiskStateSnapshot


def said(reply: ControlMessage, command: Command) -> str:
    """The kernel's answer in words for the chat."""
    match reply:
        case ActionAnswered(outcome="applied", detail=detail, seq=seq):
            return one_line(f"done: {describe(command)}. {detail} (journal #{seq})")
        case ActionAnswered(outcome="refused", detail=detail, seq=seq):
            return one_line(f"REFUSED by the risk engine: {detail} (journal #{seq})")
        case ActionAnswered(detail=detail, seq=seq):
            return one_line(f"NOT CONFIRMED: {detail} (journal #{seq}); check /status")
        case ActionAccepted(detail=detail, seq=seq):
            return one_line(f"{detail} (journal #{seq})")
        case ControlError(reason=reason):
            return one_line(f"not done: {reason}")
    return one_line(f"unexpected answer {type(reply).__name__}")


def risk_states(snapshot: SnapshotReply | None, fleet: Sequence[str],
                bot: str = "") -> dict[str, RiskStateSnapshot]:
    """Each bot's newest risk snapshot, by bot id (only ``bot``'s when named); with the
    one-bot shorthand, the one snapshot under ""."""
    if snapshot is None:
        return {}
    if not fleet:
        one = _decoded(snapshot.latest.get("risk.state"))
        return {"": one} if one is not None else {}
    found = {b: _decoded(snapshot.latest.get(f"risk.state/{b}"))
             for b in fleet if not bot or b == bot}
    return {b: s for b, s in found.items() if s is not None}


def _decoded(payload: bytes | None) -> RiskStateSnapshot | None:
    if not payload:
        return None
    try:
        return msgspec.msgpack.decode(payload, type=RiskStateSnapshot)
    except msgspec.DecodeError:
        return None


def _named(bot: str, text: str) -> str:
    return f"{ident(bot)}: {text}" if bot else text


def limit_halts(snapshot: SnapshotReply | None, fleet: Sequence[str], bot: str = "") -> str:
    """What a resume would lift that a limit set (so it re-arms from today's equity):
    the bot's named, or every bot's for the portfolio."""
    found = []
    for name, risk in risk_states(snapshot, fleet, bot).items():
        if risk.trading_state != "HALTED":
            continue
        found += [_named(name, f"{r.code}: {quoted(r.text, 200)}") for r in risk.reasons
                  if r.level == "HALTED" and not r.code.startswith("manual_")]
    if not found:
        return ""
    return (f"Trading is halted by a limit ({'; '.join(found)}); resuming re-arms it from "
            "the equity now. ")


def status_text(snapshot: SnapshotReply, fleet: Sequence[str]) -> str:
    status = snapshot.status
    which = " (the worst of the bots)" if fleet else ""
    lines = [f"trading {status.trading_state}{which}, gate {status.gate}, mode "
             f"{status.mode}",
             f"bots: {', '.join(ident(b.bot_id) for b in status.bots) or 'none'}",
             f"decisions {status.decisions}, journal #{status.journal_last_seq}"]
    for name, risk in risk_states(snapshot, fleet).items():
        lines += [one_line(_named(name, f"{r.level} {r.code}: {quoted(r.text, 200)}; to "
                                        f"lift it: {r.way_out}")) for r in risk.reasons]
    return "\n".join(lines)


def bots_text(snapshot: SnapshotReply, fleet: Sequence[str], now: float) -> str:
    """The fleet table of ``kernel status``, a line per bot and one for the portfolio;
    with the one-bot shorthand, the connected bot."""
    if not fleet:
        bots = snapshot.status.bots
        if not bots:
            return "no bot connected"
        return "\n".join(one_line(f"{ident(b.bot_id)} {b.mode} pid {b.pid}, last seen "
                                  f"{b.last_seen_s_ago:.0f} s ago") for b in bots)
    book = FleetBook(fleet)
    book.load({k: _plain(v) for k, v in snapshot.latest.items()}, now)
    view = book.view(now)
    lines = [_row_line(r) for r in view.rows]
    total = (f"portfolio: {view.trading_state} (worst), equity {_money(view.equity)}, PnL "
             f"today {_money(view.pnl_today, signed=True)}, exposure {_money(view.exposure)}")
    if view.warning:
        total += f"; warning {quoted(view.warning, 200)}"
    return "\n".join([*lines, one_line(total)])


def _row_line(row: FleetRow) -> str:
    age = "no heartbeat yet" if row.heartbeat_age_s is None else \
        f"heartbeat {row.heartbeat_age_s:.0f} s ago"
    text = (f"{ident(row.bot_id)}: {row.trading_state}, {ident(row.process)}, mode "
            f"{ident(row.mode) or '?'}, equity {_money(row.equity)}, PnL today "
            f"{_money(row.pnl_today, signed=True)}, {age}, restarts {row.restarts}")
    if row.warning:
        text += f"; warning {quoted(row.warning, 200)}"
    return one_line(text)


def report_text(snapshot: SnapshotReply | None, fleet: Sequence[str], bot: str = "") -> str:
    """Today's figures: the one bot's, the named bot's, or each bot's in turn."""
    states = risk_states(snapshot, fleet, bot)
    if not states:
        return "no risk figures yet (no heartbeat from the bot today)"
    return "\n\n".join(_figures(name, risk) for name, risk in states.items())


def _figures(bot: str, risk: RiskStateSnapshot) -> str:
    return "\n".join([
        _named(bot, f"day {risk.day}: trading {risk.trading_state}"),
        f"equity {risk.equity}, start {risk.start_equity}",
        f"daily loss {risk.daily_loss} of {risk.max_daily_loss}",
        f"drawdown {risk.drawdown} of {risk.max_drawdown}",
        f"realised PnL {risk.realized_pnl}, open PnL {risk.unrealized_pnl}",
        f"risk multiplier {risk.risk_multiplier:g}, open orders {risk.open_orders}"])


def _plain(payload: bytes) -> Any:
    try:
        return msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return None


def _money(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "?"
    return format(value, "+,.2f" if signed else ",.2f")
