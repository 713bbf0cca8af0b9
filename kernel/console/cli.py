"""The ``kernel`` command: run the supervisor, ask it, watch it, check its config.

Exit codes (also in README.md):
  0 stopped cleanly / command succeeded
  1 unexpected internal error
  2 configuration error, or a bad ``kernel plan`` request (the message names the
    file, the field and the fix)
  3 could not start (an endpoint in use, an actor that would not start), or the
    kernel could not be reached (status)
  4 trading halted: an actor kept crashing and the kernel stopped itself
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import selectors
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
from rich.console import Console
from rich.logging import RichHandler

from kernel import __version__
from kernel.config import ConfigError, default_config_dir
from kernel.console.commands.audit import add_audit_commands
from kernel.console.commands.llm import add_llm_commands
from kernel.console.commands.meta import add_meta_commands
from kernel.console.commands.operator import add_operator_commands
from kernel.console.commands.status import print_snapshot, snapshot_as_builtins
from kernel.console.commands.tap import add_tap_arguments, run_tap
from kernel.console.control_client import (
    Controller,
    ControlRefused,
    KernelUnreachable,
    controller_for,
)
from kernel.control_protocol import SnapshotReply, SnapshotRequest
from kernel.journal import JournalError
from kernel.keys import KeysMissing, generate
from kernel.microkernel import EXIT_CONFIG, EXIT_START_FAILED, Kernel
from kernel.settings import check_all, load_settings
from kernel.spin import SpinningSelector

err = Console(stderr=True, highlight=False)
Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        return EXIT_CONFIG
    except KeysMissing as exc:
        err.print(f"[red]keys missing:[/red] {exc}")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kernel", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kernel {__version__}")
    parser.add_argument("--config-dir", type=Path, default=None,
                        help="folder holding kernel.yaml, paths.yaml, ... (default: ./config "
                             "or $SUPERVISOR_CONFIG_DIR)")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run the supervisor in the foreground")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run.set_defaults(handler=_run)

    status = sub.add_parser("status", help="ask the running kernel for its status")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--timeout", type=float, default=2.0, help="seconds to wait")
    status.set_defaults(handler=_status)

    tap = sub.add_parser("tap", help="watch the kernel live: dashboard, --stream or --json")
    add_tap_arguments(tap)
    tap.set_defaults(handler=_tap)

    add_operator_commands(sub, _operator)
    meta_sub = add_audit_commands(sub, lambda args: load_settings(_config_dir(args)))
    add_meta_commands(sub, meta_sub, lambda args: load_settings(_config_dir(args)))
    add_llm_commands(sub, _config_dir)

    plan = sub.add_parser("plan", help="make a trade plan from a request file (no kernel needed)")
    plan.add_argument("--input", type=Path, help="request file (JSON), e.g. "
                      "examples/stock_day_long.json")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("--schema", action="store_true",
                      help="print the JSON Schema of a trade plan and exit")
    plan.set_defaults(handler=_plan)

    keys = sub.add_parser("keys", help="CurveZMQ keys for the control socket")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_generate = keys_sub.add_parser("generate", help="create server and client key pairs")
    keys_generate.add_argument("--dir", type=Path, default=None,
                               help="where (default: control.keys_dir from kernel.yaml)")
    keys_generate.set_defaults(handler=_keys_generate)

    check = sub.add_parser("check", help="validate every config file")
    check.set_defaults(handler=_check)
    return parser


def _config_dir(args: argparse.Namespace) -> Path:
    return args.config_dir if args.config_dir is not None else default_config_dir()


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(message)s", datefmt="%H:%M:%S",
                        handlers=[RichHandler(console=err, show_path=False)])
    settings = load_settings(_config_dir(args))
    from kernel.registry import LINK_FRAMES, default_actors  # late: actors pull their domains

    kernel = Kernel(settings, default_actors(settings), link_frames=LINK_FRAMES)
    spin_s = settings.kernel.gateway.spin_us / 1e6
    # The loop shares the GIL with the journal's JSONL copy and aiosqlite threads;
    # at the default 5 ms switch interval a formatting round can hold an order's
    # reply that long (the gate's p99 1.5 ms -> 1.0 ms with 0.5 ms).
    sys.setswitchinterval(0.0005)

    def new_loop() -> asyncio.AbstractEventLoop:
        # the selector loop on every platform: pyzmq's asyncio support needs it on Windows
        return asyncio.SelectorEventLoop(SpinningSelector(selectors.DefaultSelector(), spin_s))

    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            code = runner.run(kernel.run())
    except JournalError as exc:  # the journal would not open: no trading without a record
        err.print(f"[red]could not start:[/red] {exc}")
        return EXIT_START_FAILED
    if kernel.start_error:
        err.print(f"[red]could not start:[/red] {kernel.start_error}")
    elif kernel.halt_reason:
        err.print(f"[bold red]trading halted, kernel stopped:[/bold red] {kernel.halt_reason}")
    else:
        err.print(f"kernel stopped (exit {code})")
    return code


def _status(args: argparse.Namespace) -> int:
    settings = load_settings(_config_dir(args))
    try:
        reply: SnapshotReply = controller_for(settings).ask(SnapshotRequest(),
                                                            timeout_s=args.timeout)
    except KernelUnreachable as exc:
        err.print(f"[red]kernel not running:[/red] {exc}")
        return EXIT_START_FAILED
    except ControlRefused as exc:
        err.print(f"[red]refused:[/red] {exc}")
        return 1
    if args.json:
        sys.stdout.write(msgspec.json.encode(snapshot_as_builtins(reply)).decode() + "\n")
        return 0
    print_snapshot(reply, Console(highlight=False))
    return 0


def _operator(command: Callable[[argparse.Namespace, Controller, Console], int]) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        return command(args, controller_for(load_settings(_config_dir(args))), err)

    return handler


def _tap(args: argparse.Namespace) -> int:
    return run_tap(args, _config_dir(args))


def _plan(args: argparse.Namespace) -> int:
    from kernel.console.commands.plan import (
        plan_command,  # late: only this command needs the planner
    )

    return plan_command(_config_dir(args), args.input, as_json=args.json, schema=args.schema)


def _keys_generate(args: argparse.Namespace) -> int:
    folder = args.dir
    if folder is None:
        settings = load_settings(_config_dir(args))
        folder = settings.resolve(settings.kernel.control.keys_dir)
    try:
        written = generate(folder)
    except FileExistsError as exc:
        err.print(f"[red]not generated:[/red] {exc}")
        return 1
    out = Console(highlight=False)
    for path in written:
        out.print(f"wrote {path}")
    out.print("set `control: {curve: true}` in kernel.yaml to require these keys")
    return 0


def _check(args: argparse.Namespace) -> int:
    config_dir = _config_dir(args)
    problems = check_all(config_dir)
    for problem in problems:
        err.print(f"[red]error:[/red] {problem}")
    if problems:
        return EXIT_CONFIG
    Console(highlight=False).print(f"config in {config_dir} is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
