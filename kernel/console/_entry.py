"""The ``kernel`` console script: a Ctrl-C while Python is still importing is a quiet exit 130.

The command's imports (rich, zmq, asyncio, every actor) take about half a second; a
KeyboardInterrupt during them would otherwise print a traceback of importlib frames.
This module imports nothing heavy, so the ``try`` is in place before that work starts.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command stopped by Ctrl-C."""


def main() -> int:
    try:
        from kernel.console.cli import main as cli_main  # late: the point of this module

        return cli_main()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
