"""``kernel halt | resume | close-all | mode``: the operator's commands.

Each needs ``--reason``; the local user name goes with it, and the kernel
journals both before it answers. ``resume`` after a limit halt asks for
confirmation (or ``--yes``), because the limit that tripped will be re-armed
from the equity at that moment.

``halt``, ``resume`` and ``close-all`` (and ``kernel risk-multiplier``) wait for
the risk engine's answer and print it: exit 0 when it was carried out,
:data:`EXIT_REFUSED` with the engine's reason when it was refused, and
:data:`EXIT_UNANSWERED` when the engine did not answer within ``--timeout``
(journaled, but whether it took effect is unknown). ``mode`` is answered once the
watchdog has it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from kernel.console._args import operator_name
from kernel.console.control_client import (
    ACTION_TIMEOUT_S,
    Controller,
    ControlRefused,
    KernelUnreachable,
)
from kernel.control_protocol import (
    DEFAULT_WAIT_S,
    ActionAccepted,
    ActionAnswered,
    CloseAllRequest,
    HaltRequest,
    ModeRequest,
    ResumeRequest,
    SnapshotReply,
    SnapshotRequest,
)
from kernel.untrusted import ident, one_line

EXIT_UNREACHABLE = 3
EXIT_DECLINED = 5
EXIT_REFUSED = 6
"""The risk engine refused the command; the reason is printed."""
EXIT_UNANSWERED = 7
"""Journaled, but the risk engine did not answer in time: the outcome is unknown."""
_TRANSPORT_S = 2.0
"""The control socket's own allowance on top of the wait for the engine; never less than
:data:`ACTION_TIMEOUT_S` in all, which leaves a failing journal time to answer with its
refusal (its retries take about two seconds) before the command says "not running"."""


def add_operator_commands(sub: Any, handler_for: Any) -> None:
    """Register the sub-commands on an argparse sub-parser collection."""
    for name, text in (("halt", "block every new opening order"),
                       ("resume", "resume trading after a halt"),
                       ("close-all", "order the bot to close every position")):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("--reason", required=True, help="why (journaled)")
        add_bot(parser)
        if name == "resume":
            parser.add_argument("--yes", action="store_true",
                                help="confirm resuming after a limit halt without asking")
        add_timeout(parser)
        parser.set_defaults(handler=handler_for(run_operator_command), action=name)
    mode = sub.add_parser("mode", help="switch the bot's mode: paper | demo | off")
    mode.add_argument("mode", choices=["paper", "demo", "off"],
                      help="paper or demo: restart the bot trading against that account; "
                           "off: stop the bot and keep it stopped")
    mode.add_argument("--reason", required=True, help="why (journaled)")
    add_bot(mode)
    mode.set_defaults(handler=handler_for(run_operator_command), action="mode")


def run_operator_command(args: argparse.Namespace, kernel: Controller, console: Console) -> int:
    user = operator_name()
    try:
        if args.action == "resume" and not args.yes and \
                not _confirm_resume(kernel, console, args.bot):
            console.print("not resumed: a limit halt needs confirmation (answer y, or --yes)")
            return EXIT_DECLINED
        request = _request(args, user)
        wait_s = max(ACTION_TIMEOUT_S, getattr(request, "wait_s", 0.0) + _TRANSPORT_S)
        reply: ActionAccepted | ActionAnswered = kernel.ask(request, timeout_s=wait_s)
    except KernelUnreachable as exc:
        console.print(Text.assemble(("kernel not running:", "red"), " ", one_line(exc)))
        return EXIT_UNREACHABLE
    except ControlRefused as exc:
        console.print(Text.assemble(("refused:", "red"), " ", one_line(exc)))
        return 1
    return print_answer(reply, console, user)


def add_bot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bot", default="", metavar="ID",
                        help="one bot of the fleet (paths.yaml bots:); without it, every bot")


def add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_wait_seconds, default=DEFAULT_WAIT_S,
                        help="seconds to wait for the risk engine's answer "
                        f"(default {DEFAULT_WAIT_S:g}, at most 60)")


def _wait_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 60], found {text}")
    return value


def print_answer(reply: ActionAccepted | ActionAnswered, console: Console, user: str) -> int:
    """Print what became of the command; the exit code says it to scripts."""
    said = one_line(f"{reply.detail} (journal #{reply.seq}, by {ident(user)})")
    if isinstance(reply, ActionAccepted):
        console.print(Text(said))
        return 0
    if reply.outcome == "applied":
        console.print(Text.assemble((f"{reply.action} done: ", "green"), said))
        return 0
    if reply.outcome == "refused":
        console.print(Text.assemble((f"{reply.action} refused by the risk engine: ", "red"),
                                    said))
        return EXIT_REFUSED
    console.print(Text.assemble((f"{reply.action} not confirmed: ", "red"), said))
    return EXIT_UNANSWERED


def _request(args: argparse.Namespace, user: str) -> Any:
    bot = args.bot
    if args.action == "halt":
        return HaltRequest(reason=args.reason, user=user, wait_s=args.timeout, bot_id=bot)
    if args.action == "resume":
        return ResumeRequest(reason=args.reason, user=user, confirmed=True, wait_s=args.timeout,
                             bot_id=bot)
    if args.action == "close-all":
        return CloseAllRequest(reason=args.reason, user=user, wait_s=args.timeout, bot_id=bot)
    return ModeRequest(mode=args.mode, reason=args.reason, user=user, bot_id=bot)


def _confirm_resume(kernel: Controller, console: Console, bot: str = "") -> bool:
    """Ask only when the risk state shows a limit halt (of the bot named, or in a fleet
    of any bot); True means go ahead."""
    snapshot: SnapshotReply = kernel.ask(SnapshotRequest())
    fleet = [k for k in snapshot.latest if k.startswith("risk.state/")]
    keys = [f"risk.state/{bot}"] if bot else fleet or ["risk.state"]
    limits: list[Any] = []
    for key in keys:
        payload = snapshot.latest.get(key)
        risk = msgspec.msgpack.decode(payload) if payload else {}
        if risk.get("trading_state") == "HALTED":
            limits += [r for r in risk.get("reasons", []) if r.get("level") == "HALTED"
                       and not str(r.get("code", "")).startswith("manual_")]
    if not limits:
        return True
    reasons = "; ".join(str(r.get("text", r)) for r in limits)
    console.print(Text(one_line(f"trading is halted by a limit: {reasons}")))
    if not sys.stdin.isatty():
        return False
    answer = console.input("resume trading anyway? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}

