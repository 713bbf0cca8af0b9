"""``kernel tap``'s command line: options, and which endpoints they mean.

Endpoints come from the config unless given. ``--bus`` alone (a remote kernel)
does not borrow the local config's control endpoint, because that would show
this machine's kernel state next to another machine's traffic; pass
``--control`` too for the remote kernel's current state.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.text import Text

from kernel.config import ConfigError
from kernel.console._args import config_dir, err
from kernel.console.commands.status import bot_problem
from kernel.console.control_client import Controller, controller_for
from kernel.console.tap import TapOptions, choose_output, tap, tap_topics
from kernel.control_protocol import ControlMessage
from kernel.settings import Settings, load_settings
from kernel.untrusted import one_line


def add_tap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Watch a running kernel: a live dashboard on a terminal, one line per message "
        "otherwise. Starts from the kernel's current state (asked on the control socket), "
        "then follows the bus; says so when the kernel is unreachable and picks up again "
        "when it is back. Colours are off when NO_COLOR is set. Ctrl-C quits.")
    parser.add_argument("--bus", help="bus endpoint, e.g. tcp://host:7712 for a remote kernel "
                                      "(default: bus.subscribe_endpoint from config)")
    parser.add_argument("--control", help="control endpoint for the current state at start "
                                          "(default: control.endpoint from config)")
    parser.add_argument("--topic", action="append", default=[],
                        help="topic prefix, repeatable (the dashboard still follows every "
                             "state topic and filters its event list)")
    parser.add_argument("--bot", default="", metavar="ID",
                        help="follow one bot of the fleet (paths.yaml bots:) in the one-bot "
                             "panels; its messages alone in --stream and --json")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--stream", action="store_true",
                       help="one line per message, no screen control (the default when "
                            "stdout is not a terminal)")
    shape.add_argument("--json", action="store_true", help="one JSON object per line")


def add_tap_command(sub: Any) -> None:
    tap_parser = sub.add_parser("tap", help="watch the kernel live: dashboard, --stream or --json")
    add_tap_arguments(tap_parser)
    tap_parser.set_defaults(handler=run_tap)


def run_tap(args: argparse.Namespace) -> int:
    settings = _settings(config_dir(args), required=args.bus is None)
    problem = bot_problem(args.bot, [b.id for b in settings.paths.bots]) \
        if settings is not None else ""
    if problem:
        err.print(Text(one_line(problem)))
        return 2
    bus = args.bus or (settings.kernel.bus.subscribe_endpoint if settings else "")
    controller = _controller(args, settings)
    options = TapOptions(bus=bus, control=None if controller is None else controller.endpoint,
                         topics=tap_topics(args.topic), bot=args.bot,
                         bots=tuple(b.id for b in settings.paths.bots) if settings else (),
                         output=choose_output(as_json=args.json, stream=args.stream,
                                              stdout=sys.stdout))
    if controller is None:
        return tap(options)

    def ask(request: ControlMessage, timeout_s: float) -> object:
        return controller.ask(request, timeout_s=timeout_s)

    return tap(options, ask=ask)


def _settings(config_dir: Path, *, required: bool) -> Settings | None:
    try:
        return load_settings(config_dir)
    except ConfigError:
        if required:
            raise
        return None


def _controller(args: argparse.Namespace, settings: Settings | None) -> Controller | None:
    local = controller_for(settings) if settings is not None else None
    if args.control:
        return Controller(args.control, local.keys if local is not None else None)
    if args.bus is None or (settings is not None
                            and args.bus == settings.kernel.bus.subscribe_endpoint):
        return local
    return None
