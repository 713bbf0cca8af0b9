#!/usr/bin/env python3
"""Run the test suite, setting up .venv with the test extras first.

    python scripts/test.py [pytest options]         (Windows: py scripts\\test.py)

Needs only Python 3.11 or newer (scripts/_bootstrap.py). Extra arguments go to
pytest, e.g. ``python scripts/test.py tests/unit``; the exit code is pytest's.
The suite includes ruff, mypy and ``mypy --platform win32`` (tests/unit/test_tooling.py).

With no arguments the whole suite runs in one worker process per logical CPU, at
most four (:data:`WHOLE_SUITE`): it waits on child processes, sockets and disks
much of its time, so two workers finish it in well under the time of one, even on
two cores. With arguments pytest runs exactly as asked, in one process, so a
mistyped path is told as pytest tells it (add ``-n 2`` to a selection to share it).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts._bootstrap import main  # after the line above: the project root is on the path

WHOLE_SUITE = ["-n", "logical", "--maxprocesses", "4"]
"""pytest-xdist's options for a run with no arguments (docs/architecture.md, "The suite")."""

if __name__ == "__main__":
    sys.exit(main("test", ["-m", "pytest"], sys.argv[1:] or WHOLE_SUITE))
