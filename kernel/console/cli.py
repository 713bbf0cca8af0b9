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
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from kernel import __version__
from kernel.config import ConfigError
from kernel.console._args import config_dir, err
from kernel.console._entry import keep_output_printable
from kernel.exit_codes import EXIT_CONFIG
from kernel.keys import KeysMissing
from kernel.untrusted import one_line

if TYPE_CHECKING:
    from kernel.console.control_client import Controller
    from kernel.settings import Settings

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    keep_output_printable()  # again: tests and `python -m kernel.console.cli` start here
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(_command_named(argv))
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


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every sub-command, or with only the group that registers
    ``command``: each group's module is imported when its command runs, so ``kernel
    status`` does not load the alert senders, the feeds and the Meta-Agent first."""
    parser = argparse.ArgumentParser(prog="kernel", description=__doc__.splitlines()[0],
                                     epilog=_exit_codes(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kernel {__version__}")
    parser.add_argument(_CONFIG_DIR, type=Path, default=None,
                        help="folder holding kernel.yaml, paths.yaml, ... (default: ./config "
                             "or $SUPERVISOR_CONFIG_DIR)")
    sub = parser.add_subparsers(dest="command")
    for names, register in _GROUPS:
        if command is None or command in names:
            register(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names, when one group registers it; None otherwise (no
    command, ``--help``, or a name no group has: the whole parser then answers)."""
    tokens = iter(argv)
    for token in tokens:
        if len(token) > 2 and _CONFIG_DIR.startswith(token):  # argparse takes a prefix
            next(tokens, None)  # its value
        elif not token.startswith("-"):
            return token if any(token in names for names, _ in _GROUPS) else None
    return None


def _run(sub: Any) -> None:
    from kernel.console.commands.run import add_run_command
    add_run_command(sub)


def _status(sub: Any) -> None:
    from kernel.console.commands.status import add_status_command
    add_status_command(sub)


def _stop(sub: Any) -> None:
    from kernel.console.commands.stop import add_stop_command
    add_stop_command(sub)


def _tap(sub: Any) -> None:
    from kernel.console.commands.tap import add_tap_command
    add_tap_command(sub)


def _operator_commands(sub: Any) -> None:
    from kernel.console.commands.operator import add_operator_commands
    add_operator_commands(sub, _operator)


def _audit_and_meta(sub: Any) -> None:
    """``audit``, ``report`` and ``meta task``; ``meta run`` and ``proposals`` join
    ``meta`` (kernel/console/commands/meta.py), so the two always load together."""
    from kernel.console.commands.audit import add_audit_commands
    from kernel.console.commands.meta import add_meta_commands
    add_meta_commands(sub, add_audit_commands(sub, _settings), _settings)


def _llm(sub: Any) -> None:
    from kernel.console.commands.llm import add_llm_commands
    add_llm_commands(sub, config_dir)


def _plan(sub: Any) -> None:
    from kernel.console.commands.plan import add_plan_command
    add_plan_command(sub)


def _replay(sub: Any) -> None:
    from kernel.console.commands.replay import add_replay_command
    add_replay_command(sub, _settings)


def _keys(sub: Any) -> None:
    from kernel.console.commands.keys import add_keys_commands
    add_keys_commands(sub)


def _check(sub: Any) -> None:
    from kernel.console.commands.check import add_check_command
    add_check_command(sub)


def _feeds(sub: Any) -> None:
    from kernel.console.commands.feeds import add_feeds_commands
    add_feeds_commands(sub, config_dir)


def _alerts(sub: Any) -> None:
    from kernel.console.commands.alerts import add_alerts_commands
    add_alerts_commands(sub, config_dir)


_CONFIG_DIR = "--config-dir"
_GROUPS: tuple[tuple[frozenset[str], Callable[[Any], None]], ...] = (
    (frozenset({"run"}), _run),
    (frozenset({"status"}), _status),
    (frozenset({"stop"}), _stop),
    (frozenset({"tap"}), _tap),
    (frozenset({"halt", "resume", "close-all", "mode"}), _operator_commands),
    (frozenset({"audit", "report", "meta", "proposals"}), _audit_and_meta),
    (frozenset({"moderator", "llm", "risk-multiplier"}), _llm),
    (frozenset({"plan"}), _plan),
    (frozenset({"replay"}), _replay),
    (frozenset({"keys"}), _keys),
    (frozenset({"check"}), _check),
    (frozenset({"feeds"}), _feeds),
    (frozenset({"alerts"}), _alerts),
)
"""Each top-level command, by the group whose module registers it, in ``--help``'s
order. A name missing here is not lost: the whole parser loads and argparse knows it
(``tests/unit/test_cli_help.py`` checks the table against the whole parser)."""


def _exit_codes() -> str:
    """The exit-code list of this module's docstring, so ``--help`` and the code agree."""
    codes = __doc__.split("Exit codes (also in README.md):\n", 1)[1]
    return "Exit codes:\n" + codes.replace("``", "").rstrip()


def _settings(args: argparse.Namespace) -> Settings:
    from kernel.settings import load_settings
    return load_settings(config_dir(args))


def _operator(command: Callable[[argparse.Namespace, Controller, Console], int]) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from kernel.console.control_client import controller_for
        return command(args, controller_for(_settings(args)), err)

    return handler


if __name__ == "__main__":
    sys.exit(main())
