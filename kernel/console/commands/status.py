"""``kernel status``: everything an operator needs to know, once.

Built from the control socket's snapshot: the kernel's own status plus the
newest ``bot.state`` and ``risk.state`` messages, so it shows the bot's pid,
mode, uptime, heartbeat age and restarts, the trading state with its reasons
and distances to the limits, and the risk multiplier with who set it, why and
until when.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import Any, Final

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kernel.console._args import config_dir, err
from kernel.console.control_client import ControlRefused, KernelUnreachable, controller_for
from kernel.control_protocol import SnapshotReply, SnapshotRequest
from kernel.messages import decode_message
from kernel.microkernel import EXIT_START_FAILED
from kernel.settings import load_settings
from kernel.summaries import reason_line, status_lines
from kernel.untrusted import ident, one_line, quoted


def add_status_command(sub: Any) -> None:
    status = sub.add_parser("status", help="ask the running kernel for its status")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--timeout", type=float, default=2.0, help="seconds to wait")
    status.set_defaults(handler=show_status)


def show_status(args: argparse.Namespace) -> int:
    settings = load_settings(config_dir(args))
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
        sys.stdout.write(_JSON.encode(snapshot_as_builtins(reply)).decode() + "\n")
        return 0
    print_snapshot(reply, Console(highlight=False))
    return 0


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


def print_snapshot(reply: SnapshotReply, out: Console) -> None:
    """Every value in the snapshot may hold outside text (a bot id, a reason, a config
    value): each line is printed as rich ``Text``, with such values shown safely."""
    status = reply.status
    out.print(_line(f"kernel {ident(status.version)} pid {status.pid}, up "
                    f"{status.uptime_s:.0f} s, mode {ident(status.mode)}, trading "
                    f"{ident(status.trading_state)} ({status.gate})"))
    for name, endpoint in status.endpoints.items():
        out.print(_line(f"  {ident(name):<14} {ident(endpoint, 300)}"))
    _print_bot(_decode(reply.latest["bot.state"]) if "bot.state" in reply.latest else None, out)
    _print_risk(_decode(reply.latest["risk.state"]) if "risk.state" in reply.latest else None,
                out)
    for line in status_lines(*(_decode(reply.latest[t]) if t in reply.latest else None
                               for t in ("llm.budget", "moderator.advice"))):
        out.print(_line(line))
    actors = Table("actor", "state", "restarts", "last error", title="actors")
    for actor in status.actors:
        actors.add_row(_line(ident(actor.name)), _line(ident(actor.state)),
                       str(actor.restarts), _line(actor.last_error))
    out.print(actors)
    bots = Table("bot", "pid", "mode", "connected", "last seen", title="bot link sessions")
    for bot in status.bots:
        bots.add_row(_line(ident(bot.bot_id)), str(bot.pid), _line(ident(bot.mode)),
                     f"{bot.connected_s:.0f} s", f"{bot.last_seen_s_ago:.1f} s ago")
    out.print(bots)
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
