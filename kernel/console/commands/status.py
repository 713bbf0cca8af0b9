"""``kernel status``: everything an operator needs to know, once.

Built from the control socket's snapshot: the kernel's own status plus the
newest ``bot.state`` and ``risk.state`` messages, so it shows the bot's pid,
mode, uptime, heartbeat age and restarts, the trading state with its reasons
and distances to the limits, and the risk multiplier with who set it, why and
until when.

In a fleet (``paths.yaml`` ``bots:``) it lists every bot and the portfolio in one
table; ``--bot ID`` shows one bot the way the one-bot kernel is shown.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from decimal import Decimal
from typing import Any, Final

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kernel.console._args import config_dir, err
from kernel.console._fleet_table import fleet_table
from kernel.console.control_client import ControlRefused, KernelUnreachable, controller_for
from kernel.control_protocol import SnapshotReply, SnapshotRequest
from kernel.exit_codes import EXIT_START_FAILED
from kernel.fleet_view import FleetBook, FleetView
from kernel.messages import decode_message
from kernel.settings import load_settings
from kernel.summaries import feeds_line, reason_line, status_lines
from kernel.untrusted import ident, one_line, quoted


def add_status_command(sub: Any) -> None:
    status = sub.add_parser("status", help="ask the running kernel for its status")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--timeout", type=float, default=2.0, help="seconds to wait")
    status.add_argument("--bot", default="", metavar="ID",
                        help="one bot of the fleet (paths.yaml bots:)")
    status.set_defaults(handler=show_status)


def show_status(args: argparse.Namespace) -> int:
    settings = load_settings(config_dir(args))
    bots = [b.id for b in settings.paths.bots]
    problem = bot_problem(args.bot, bots)
    if problem:
        err.print(Text(one_line(problem)))
        return 2
    try:
        reply: SnapshotReply = controller_for(settings).ask(SnapshotRequest(),
                                                            timeout_s=args.timeout)
    except KernelUnreachable as exc:
        err.print(Text.assemble(("kernel not running:", "red"), " ", one_line(exc)))
        return EXIT_START_FAILED
    except ControlRefused as exc:
        err.print(Text.assemble(("refused:", "red"), " ", one_line(exc)))
        return 1
    if args.json:
        body = snapshot_as_builtins(reply)
        if bots:
            body["fleet"] = fleet_builtins(_fleet(reply, bots), args.bot)
        sys.stdout.write(_JSON.encode(body).decode() + "\n")
        return 0
    print_snapshot(reply, Console(highlight=False), bots=bots, bot=args.bot)
    return 0


def bot_problem(bot: str, bots: list[str]) -> str:
    """Why ``--bot`` cannot be shown, or ""."""
    if not bot:
        return ""
    if not bots:
        return (f"--bot {bot}: this kernel runs one bot (paths.yaml `bot:`), so there is no "
                "bot to choose; leave out --bot")
    if bot not in bots:
        return f"--bot {bot}: no such bot in paths.yaml `bots:` (has: {', '.join(bots)})"
    return ""


def _fleet(reply: SnapshotReply, bots: list[str]) -> FleetView:
    book = FleetBook(bots)
    book.load({k: _decode(v) for k, v in reply.latest.items()}, time.time())
    return book.view(time.time())


def fleet_builtins(view: FleetView, bot: str) -> dict[str, Any]:
    """The fleet for ``--json``: every bot's row (or the one asked for) and the totals."""
    rows = [asdict(r) for r in view.rows if not bot or r.bot_id == bot]
    return {"bots": rows, "totals": {"equity": view.equity, "pnl_today": view.pnl_today,
                                     "exposure": view.exposure,
                                     "trading_state": view.trading_state,
                                     "warning": view.warning}}


def snapshot_as_builtins(reply: SnapshotReply) -> dict[str, Any]:
    """The snapshot with each latest payload decoded, for ``--json``: money is a
    ``Decimal`` (a JSON number once encoded with ``_JSON``), not a string."""
    return {"status": msgspec.to_builtins(reply.status),
            "latest": {topic: _decode_typed(payload) for topic, payload in reply.latest.items()}}


_JSON: Final = msgspec.json.Encoder(decimal_format="number")
"""Decimals as plain JSON numbers (``977.79246``), exact to the digit."""


def _decode_typed(payload: bytes) -> Any:
    """A payload as its message type knows it (so a money field is a ``Decimal``);
    as plain data when this version does not know the type."""
    try:
        return msgspec.to_builtins(decode_message(payload), builtin_types=(Decimal,))
    except msgspec.DecodeError:
        return _decode(payload)


def _decode(payload: bytes) -> Any:
    try:
        return msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return None


def _num(value: Any, fmt: str = ",.2f") -> str:
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return "—"


def _line(text: str) -> Text:
    """One printed line: never markup, never more than one line (kernel/untrusted.py)."""
    return Text(one_line(text))


def print_snapshot(reply: SnapshotReply, out: Console, *, bots: list[str] | None = None,
                   bot: str = "") -> None:
    """Every value in the snapshot may hold outside text (a bot id, a reason, a config
    value): each line is printed as rich ``Text``, with such values shown safely."""
    status = reply.status
    out.print(_line(f"kernel {ident(status.version)} pid {status.pid}, up "
                    f"{status.uptime_s:.0f} s, mode {ident(status.mode)}, trading "
                    f"{ident(status.trading_state)} ({status.gate})"))
    for name, endpoint in status.endpoints.items():
        out.print(_line(f"  {ident(name):<14} {ident(endpoint, 300)}"))
    if bots and not bot:
        out.print(fleet_table(_fleet(reply, bots), width=out.width))
    else:
        suffix = f"/{bot}" if bot else ""
        bot_state, risk_state = (reply.latest.get(f"{t}{suffix}")
                                 for t in ("bot.state", "risk.state"))
        _print_bot(None if bot_state is None else _decode(bot_state), out)
        _print_risk(None if risk_state is None else _decode(risk_state), out)
    for line in status_lines(*(_decode(reply.latest[t]) if t in reply.latest else None
                               for t in ("llm.budget", "moderator.advice"))):
        out.print(_line(line))
    out.print(_line(feeds_line(_decode(reply.latest["feeds.state"])
                               if "feeds.state" in reply.latest else None)))
    actors = Table("actor", "state", "restarts", "last error", title="actors")
    for actor in status.actors:
        actors.add_row(_line(ident(actor.name)), _line(ident(actor.state)),
                       str(actor.restarts), _line(actor.last_error))
    out.print(actors)
    sessions = Table("bot", "pid", "mode", "connected", "last seen", title="bot link sessions")
    for session in status.bots:
        if bot and session.bot_id != bot:
            continue
        sessions.add_row(_line(ident(session.bot_id)), str(session.pid),
                         _line(ident(session.mode)), f"{session.connected_s:.0f} s",
                         f"{session.last_seen_s_ago:.1f} s ago")
    out.print(sessions)
    out.print(_line(f"journal {ident(status.journal_path, 300)} (last seq "
                    f"{status.journal_last_seq}), decisions {status.decisions}, anomalies "
                    f"{sum(status.anomalies.values())}"))


def _print_bot(bot: Any, out: Console) -> None:
    if not isinstance(bot, dict):
        out.print("bot: no state reported yet")
        return
    name = f"bot {ident(bot['bot_id'])}" if bot.get("bot_id") else "bot"
    if bot.get("state") == "off":  # no process, no heartbeat, no equity: say why instead
        why = bot.get("detail") or "mode off"
        out.print(_line(f"{name}: off (stopped on purpose: {why}); restarts "
                        f"{_num(bot.get('restarts', 0), '.0f')}"))
        return
    pid = f" pid {bot['pid']}" if bot.get("pid") is not None else ""
    out.print(_line(f"{name}: {ident(bot.get('state'))}{pid}, mode {ident(bot.get('mode'))}, up "
                    f"{_num(bot.get('uptime_s'), '.0f')} s, last heartbeat "
                    f"{_num(bot.get('last_heartbeat_age_s'), '.1f')} s ago, restarts "
                    f"{_num(bot.get('restarts', 0), '.0f')}, equity {_num(bot.get('equity'))}"))


def _print_risk(risk: Any, out: Console) -> None:
    if not isinstance(risk, dict):
        out.print("risk: no state reported yet")
        return
    reasons = "; ".join(reason_line(r) for r in risk.get("reasons", [])
                        if isinstance(r, dict)) or "no reasons"
    out.print(_line(
        f"risk: {ident(risk.get('trading_state'))} ({reasons}); daily loss "
        f"{_num(risk.get('daily_loss'))} of {_num(risk.get('max_daily_loss'))}, drawdown "
        f"{_num(risk.get('drawdown'))} of {_num(risk.get('max_drawdown'))}, leverage "
        f"{_num(risk.get('leverage'))} of {_num(risk.get('max_leverage'))}"
        + (", MANUAL CLOSE NEEDED" if risk.get("manual_close_needed") else "")))
    out.print(multiplier_line(risk))
    shadow = risk.get("shadow")
    if isinstance(shadow, dict):
        out.print(_line(
            "shadow limits (risk.shadow.yaml, never deciding): "
            f"{_num(shadow.get('orders'), ',.0f')} orders judged, ALLOW->DENY "
            f"{_num(shadow.get('allow_to_deny'), ',.0f')}, "
            f"DENY->ALLOW {_num(shadow.get('deny_to_allow'), ',.0f')}, other DENY code "
            f"{_num(shadow.get('other_code'), ',.0f')} (each one journaled as shadow.decision)"))


def multiplier_line(risk: dict[str, Any]) -> Text:
    """The risk multiplier, who set it, why and how it ends: a cut must never be silent."""
    value = _num(risk.get("risk_multiplier"), "g")
    by = ident(risk.get("risk_multiplier_by") or "unknown")
    line = Text(one_line(f"risk multiplier x{value} set by {by}"))
    if risk.get("risk_multiplier_reason"):
        line.append(one_line(f": {quoted(risk['risk_multiplier_reason'])}"))
    if risk.get("risk_multiplier_until"):
        line.append(one_line(f"; {risk['risk_multiplier_until']}"))
    if value not in ("1", "—"):
        line.stylize("yellow")
    return line
