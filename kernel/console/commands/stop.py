"""``kernel stop --reason R``: stop a running kernel in order, from another window.

For a kernel with no window to press Ctrl-C in: a Windows service, a scheduled
task, a ``nohup`` on a server. The kernel journals the stop with who and why
(its ``stopping`` state), answers, then stops exactly as on Ctrl-C: the bot
first, politely, then the journal. The command waits until the kernel is gone
(its control socket silent and, when the data directory is on this machine, its
lock released, so a kernel started right after does not find it still held).

Exit codes: 0 stopped; 3 no kernel answered; 7 still stopping after ``--timeout``
(the stop is journaled and goes on: check ``kernel status``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from kernel.console._args import config_dir, err, operator_name
from kernel.console.commands.operator import EXIT_UNANSWERED, EXIT_UNREACHABLE
from kernel.console.control_client import (
    Controller,
    ControlRefused,
    KernelUnreachable,
    controller_for,
)
from kernel.control_protocol import ActionAccepted, StatusRequest, StopRequest
from kernel.lockfile import kernel_running
from kernel.settings import load_settings
from kernel.untrusted import ident, one_line

DEFAULT_TIMEOUT_S = 60.0
"""Enough for the bot's polite stop and the journal's last commit (watchdog.yaml's grace)."""
_POLL_S = 0.2


def add_stop_command(sub: Any) -> None:
    parser = sub.add_parser("stop", help="stop the running kernel in order (as Ctrl-C would)")
    parser.add_argument("--reason", required=True, help="why (journaled)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds to wait until it has stopped (default "
                             f"{DEFAULT_TIMEOUT_S:g})")
    parser.set_defaults(handler=stop_kernel)


def stop_kernel(args: argparse.Namespace) -> int:
    settings = load_settings(config_dir(args))
    kernel, user = controller_for(settings), operator_name()
    try:
        reply: ActionAccepted = kernel.ask(StopRequest(reason=args.reason, user=user))
    except KernelUnreachable as exc:
        err.print(Text.assemble(("kernel not running:", "red"), " ", one_line(exc)))
        return EXIT_UNREACHABLE
    except ControlRefused as exc:
        err.print(Text.assemble(("refused:", "red"), " ", one_line(exc)))
        return 1
    err.print(Text(one_line(f"{reply.detail} (journal #{reply.seq}, by {ident(user)})")))
    deadline = time.monotonic() + args.timeout
    while not _gone(kernel, settings.data_dir):
        if time.monotonic() >= deadline:
            err.print(Text.assemble(("still stopping", "red"), one_line(
                f" after {args.timeout:g} s: the stop is journaled and goes on. Check "
                "`kernel status`; the console log of `kernel run` says what it waits for.")))
            return EXIT_UNANSWERED
        time.sleep(_POLL_S)
    Console(highlight=False).print("kernel stopped")
    return 0


def _gone(kernel: Controller, data_dir: Path) -> bool:
    try:
        kernel.ask(StatusRequest(), timeout_s=_POLL_S * 2)
    except (KernelUnreachable, ControlRefused):
        return not kernel_running(data_dir)
    return False
