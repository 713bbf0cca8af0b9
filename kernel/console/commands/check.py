"""``kernel check``: validate every config file, each problem naming file, field and fix."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.text import Text

from agents.feeds.sources import massive_key
from kernel.console._args import config_dir, err
from kernel.exit_codes import EXIT_CONFIG
from kernel.settings import check_all, load_settings
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
    out = Console(highlight=False)
    out.print(Text(f"config in {ident(str(folder), 500)} is valid"))
    settings = load_settings(folder)
    feeds = settings.feeds
    key = massive_key(feeds.massive)
    for name, why in feeds.standing(key_present=key is not None,
                                    option_symbols=list(settings.options.live.symbols)).items():
        out.print(Text(one_line(f"feed {name}: {why}")))
    return 0
