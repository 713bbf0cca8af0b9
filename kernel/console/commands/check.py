"""``kernel check``: validate every config file, each problem naming file, field and fix."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.text import Text

from kernel.console._args import config_dir, err
from kernel.microkernel import EXIT_CONFIG
from kernel.settings import check_all
from kernel.untrusted import ident, one_line


def add_check_command(sub: Any) -> None:
    check = sub.add_parser("check", help="validate every config file")
    check.set_defaults(handler=check_config)


def check_config(args: argparse.Namespace) -> int:
    folder = config_dir(args)
    problems = check_all(folder)
    for problem in problems:
        err.print(Text.assemble(("error:", "red"), " ", one_line(problem)))
    if problems:
        return EXIT_CONFIG
    Console(highlight=False).print(Text(f"config in {ident(str(folder), 500)} is valid"))
    return 0
