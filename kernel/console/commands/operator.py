"""``kernel halt | resume | close-all | mode``: the operator's commands.

Each needs ``--reason``; the local user name goes with it, and the kernel
journals both before it answers. ``resume`` after a limit halt asks for
confirmation (or ``--yes``), because the limit that tripped will be re-armed
from the equity at that moment.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from kernel.console.control_client import Controller, ControlRefused, KernelUnreachable
from kernel.control_protocol import (
    ActionAccepted,
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


def add_operator_commands(sub: Any, handler_for: Any) -> None:
    """Register the sub-commands on an argparse sub-parser collection."""
    for name, text in (("halt", "block every new opening order"),
                       ("resume", "resume trading after a halt"),
                       ("close-all", "order the bot to close every position")):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("--reason", required=True, help="why (journaled)")
        if name == "resume":
            parser.add_argument("--yes", action="store_true",
                                help="confirm resuming after a limit halt without asking")
        parser.set_defaults(handler=handler_for(run_operator_command), action=name)
    mode = sub.add_parser("mode", help="switch the bot's mode: paper | demo | off")
    mode.add_argument("mode", choices=["paper", "demo", "off"])
    mode.add_argument("--reason", required=True, help="why (journaled)")
    mode.set_defaults(handler=handler_for(run_operator_command), action="mode")


def run_operator_command(args: argparse.Namespace, kernel: Controller, console: Console) -> int:
    user = _user()
    try:
        if args.action == "resume" and not args.yes and not _confirm_resume(kernel, console):
            console.print("not resumed: a limit halt needs confirmation (answer y, or --yes)")
            return EXIT_DECLINED
        request = _request(args, user)
        reply: ActionAccepted = kernel.ask(request)
    except KernelUnreachable as exc:
        console.print(Text.assemble(("kernel not running:", "red"), " ", one_line(exc)))
        return EXIT_UNREACHABLE
    except ControlRefused as exc:
        console.print(Text.assemble(("refused:", "red"), " ", one_line(exc)))
        return 1
    console.print(Text(one_line(f"{reply.detail} (journal #{reply.seq}, by {ident(user)})")))
    return 0


def _request(args: argparse.Namespace, user: str) -> Any:
    if args.action == "halt":
        return HaltRequest(reason=args.reason, user=user)
    if args.action == "resume":
        return ResumeRequest(reason=args.reason, user=user, confirmed=True)
    if args.action == "close-all":
        return CloseAllRequest(reason=args.reason, user=user)
    return ModeRequest(mode=args.mode, reason=args.reason, user=user)


def _confirm_resume(kernel: Controller, console: Console) -> bool:
    """Ask only when the risk state shows a limit halt; True means go ahead."""
    snapshot: SnapshotReply = kernel.ask(SnapshotRequest())
    payload = snapshot.latest.get("risk.state")
    risk = msgspec.msgpack.decode(payload) if payload else {}
    limits = [r for r in risk.get("reasons", []) if r.get("level") == "HALTED"
              and not str(r.get("code", "")).startswith("manual_")]
    if risk.get("trading_state") != "HALTED" or not limits:
        return True
    reasons = "; ".join(str(r.get("text", r)) for r in limits)
    console.print(Text(one_line(f"trading is halted by a limit: {reasons}")))
    if not sys.stdin.isatty():
        return False
    answer = console.input("resume trading anyway? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def _user() -> str:
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):  # no login name (some services, containers)
        return "unknown"
