"""``kernel alerts test``: send one test message to every configured alert target.

Runs in this process, not through the kernel, so it works whether the kernel runs
or not; it is a probe and is not journaled. Each target's result is printed (the
URLs as their scheme and the ``${VAR}`` names they use, never the values); exit 0
when every target took it, 1 when any failed, 2 when no target is configured.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from agents.alerts.envvars import shown
from agents.alerts.sender import send_now
from kernel.settings import Settings, load_settings
from kernel.untrusted import ident, one_line

EXIT_FAILED, EXIT_NO_TARGET = 1, 2


def add_alerts_commands(sub: Any, config_dir: Callable[[argparse.Namespace], Path]) -> None:
    alerts = sub.add_parser("alerts", help="the alert targets of alerts.yaml")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True)
    test = alerts_sub.add_parser("test", help="send one test message to every target")
    test.set_defaults(handler=lambda a: alerts_test(load_settings(config_dir(a)),
                                                    Console(highlight=False)))


def alerts_test(settings: Settings, out: Console) -> int:
    targets = settings.alerts.targets
    if not targets:
        out.print(Text(one_line(f"no alert target in {settings.config_dir / 'alerts.yaml'}. "
                                "Fix: add one under targets: (docs/alerts.md)")))
        return EXIT_NO_TARGET
    title = "QuantumEdge Supervisor: test alert"
    body = one_line(f"A test from `kernel alerts test` on {socket.gethostname()}. "
                    "If you read this, alerts reach you here.")
    failed = 0
    for target in targets:
        outcome = send_now(target.urls, title, body)
        where = ", ".join(shown(url) for url in target.urls)
        if outcome.ok:
            out.print(Text.assemble(("sent", "green"), " ",
                                    one_line(f"{ident(target.name)} ({where})")))
        else:
            failed += 1
            out.print(Text.assemble(("FAILED", "red"), " ", one_line(
                f"{ident(target.name)} ({where}): {outcome.error}")))
    return EXIT_FAILED if failed else 0
