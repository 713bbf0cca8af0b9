"""The ``kernel`` command: run the supervisor, ask it, watch it, check its config.

A table of contents: each sub-command lives in its own module under
``kernel/console/commands/`` and registers its own arguments there.

Exit codes (also in README.md):
  0 stopped cleanly / command succeeded
  1 unexpected internal error
  2 configuration error, or a bad ``kernel plan`` request (the message names the
    file, the field and the fix)
  3 could not start (an endpoint in use, an actor that would not start), or the
    kernel could not be reached (status)
  4 trading halted: an actor kept crashing and the kernel stopped itself
  5 a resume after a limit halt was not confirmed
  6 the risk engine refused the operator's command (halt, resume, close-all,
    risk-multiplier); its reason is printed
  7 the risk engine did not answer the operator's command in time: journaled,
    but whether it took effect is unknown; for stop: still stopping after --timeout
  8 ``kernel replay``: the stretch needs journal rows that were archived
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from kernel import __version__
from kernel.config import ConfigError
from kernel.console._args import config_dir, err
from kernel.console._entry import keep_output_printable
from kernel.console.commands.alerts import add_alerts_commands
from kernel.console.commands.audit import add_audit_commands
from kernel.console.commands.check import add_check_command
from kernel.console.commands.feeds import add_feeds_commands
from kernel.console.commands.keys import add_keys_commands
from kernel.console.commands.llm import add_llm_commands
from kernel.console.commands.meta import add_meta_commands
from kernel.console.commands.operator import add_operator_commands
from kernel.console.commands.plan import add_plan_command
from kernel.console.commands.replay import add_replay_command
from kernel.console.commands.run import add_run_command
from kernel.console.commands.status import add_status_command
from kernel.console.commands.stop import add_stop_command
from kernel.console.commands.tap import add_tap_command
from kernel.console.control_client import Controller, controller_for
from kernel.keys import KeysMissing
from kernel.microkernel import EXIT_CONFIG
from kernel.settings import Settings, load_settings
from kernel.untrusted import one_line

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    keep_output_printable()  # again: tests and `python -m kernel.console.cli` start here
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        err.print(Text.assemble(("configuration error:", "red"), " ", one_line(exc)))
        return EXIT_CONFIG
    except KeysMissing as exc:
        err.print(Text.assemble(("keys missing:", "red"), " ", one_line(exc)))
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kernel", description=__doc__.splitlines()[0],
                                     epilog=_exit_codes(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kernel {__version__}")
    parser.add_argument("--config-dir", type=Path, default=None,
                        help="folder holding kernel.yaml, paths.yaml, ... (default: ./config "
                             "or $SUPERVISOR_CONFIG_DIR)")
    sub = parser.add_subparsers(dest="command")
    add_run_command(sub)
    add_status_command(sub)
    add_stop_command(sub)
    add_tap_command(sub)
    add_operator_commands(sub, _operator)
    meta_sub = add_audit_commands(sub, _settings)
    add_meta_commands(sub, meta_sub, _settings)
    add_llm_commands(sub, config_dir)
    add_plan_command(sub)
    add_replay_command(sub, _settings)
    add_keys_commands(sub)
    add_check_command(sub)
    add_feeds_commands(sub, config_dir)
    add_alerts_commands(sub, config_dir)
    return parser


def _exit_codes() -> str:
    """The exit-code list of this module's docstring, so ``--help`` and the code agree."""
    codes = __doc__.split("Exit codes (also in README.md):\n", 1)[1]
    return "Exit codes:\n" + codes.replace("``", "").rstrip()


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_dir(args))


def _operator(command: Callable[[argparse.Namespace, Controller, Console], int]) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        return command(args, controller_for(_settings(args)), err)

    return handler


if __name__ == "__main__":
    sys.exit(main())
