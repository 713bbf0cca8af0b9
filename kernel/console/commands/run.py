"""``kernel run``: the supervisor in the foreground, with a console log.

This is where the process is composed: the settings, the actors of the composition
root (``kernel/registry.py``), and the event loop the kernel runs on.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

from bus.loops import LoopModeError, loop_mode, new_selector
from kernel.config import ConfigError
from kernel.console._args import config_dir, err
from kernel.microkernel import Kernel
from kernel.settings import load_settings
from kernel.spin import SpinningSelector
from kernel.untrusted import one_line


def add_run_command(sub: Any) -> None:
    run = sub.add_parser("run", help="run the supervisor in the foreground")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"],
                     help="the least severe line the console log shows (default: INFO)")
    run.set_defaults(handler=run_kernel)


class OneLine(logging.Filter):
    """Each record of the console log on one line, control characters shown: a log
    message may quote a bot, the LLM or a config file (kernel/untrusted.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # logging reports a malformed record itself
        record.msg, record.args = one_line(message), None
        return True


def console_log_handler(console: Console) -> logging.Handler:
    """The console log of ``kernel run``: rich, without markup, one line per record."""
    handler = RichHandler(console=console, show_path=False, markup=False)
    handler.addFilter(OneLine())
    return handler


def run_kernel(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(message)s", datefmt="%H:%M:%S",
                        handlers=[console_log_handler(err)])
    settings = load_settings(config_dir(args))
    try:  # a mistyped QE_LOOP is said before anything starts
        if loop_mode() == "select":
            logging.getLogger("kernel.run").info(
                "event loop on select(), the selector Windows uses (QE_LOOP=select)")
    except LoopModeError as exc:
        raise ConfigError(str(exc)) from None
    from kernel.registry import LINK_FRAMES, default_actors  # late: actors pull their domains

    kernel = Kernel(settings, default_actors(settings), link_frames=LINK_FRAMES,
                    own_process=True)
    spin_s = settings.kernel.gateway.spin_us / 1e6
    # The loop shares the GIL with the journal's JSONL copy and aiosqlite threads;
    # at the default 5 ms switch interval a formatting round can hold an order's
    # reply that long (the gate's p99 1.5 ms -> 1.0 ms with 0.5 ms).
    sys.setswitchinterval(0.0005)

    def new_loop() -> asyncio.AbstractEventLoop:
        # the selector loop on every platform: pyzmq's asyncio support needs it on Windows;
        # QE_LOOP=select runs it on select() as Windows does (bus/loops.py)
        return asyncio.SelectorEventLoop(SpinningSelector(new_selector(), spin_s))

    with asyncio.Runner(loop_factory=new_loop) as runner:
        code = runner.run(kernel.run())
    if kernel.start_error:
        err.print(Text.assemble(("could not start:", "red"), " ", one_line(kernel.start_error)))
    elif kernel.journal_error:
        err.print(Text.assemble(("journal unusable, trading halted, kernel stopped:", "bold red"),
                                " ", one_line(kernel.journal_error)))
    elif kernel.halt_reason:
        err.print(Text.assemble(("trading halted, kernel stopped:", "bold red"), " ",
                                one_line(kernel.halt_reason)))
    else:
        err.print(f"kernel stopped (exit {code})")
    return code
