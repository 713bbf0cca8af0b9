"""``kernel run``: the supervisor in the foreground, with a console log.

This is where the process is composed: the settings, the actors of the composition
root (``kernel/registry.py``), and the event loop the kernel runs on.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import selectors
import sys
from typing import Any

from rich.logging import RichHandler

from kernel.console._args import config_dir, err
from kernel.microkernel import Kernel
from kernel.settings import load_settings
from kernel.spin import SpinningSelector


def add_run_command(sub: Any) -> None:
    run = sub.add_parser("run", help="run the supervisor in the foreground")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run.set_defaults(handler=run_kernel)


def run_kernel(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(message)s", datefmt="%H:%M:%S",
                        handlers=[RichHandler(console=err, show_path=False)])
    settings = load_settings(config_dir(args))
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

    with asyncio.Runner(loop_factory=new_loop) as runner:
        code = runner.run(kernel.run())
    if kernel.start_error:
        err.print(f"[red]could not start:[/red] {kernel.start_error}")
    elif kernel.journal_error:
        err.print(f"[bold red]journal unusable, trading halted, kernel stopped:[/bold red] "
                  f"{kernel.journal_error}")
    elif kernel.halt_reason:
        err.print(f"[bold red]trading halted, kernel stopped:[/bold red] {kernel.halt_reason}")
    else:
        err.print(f"kernel stopped (exit {code})")
    return code
