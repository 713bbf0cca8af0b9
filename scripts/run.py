#!/usr/bin/env python3
"""Run the supervisor with the reference QuantumEdge bot (paper), setting up .venv first.

    python scripts/run.py [kernel run options]      (Windows: py scripts\\run.py)

Needs only Python 3.11 or newer: the first run makes ``.venv`` beside the README
and installs the project into it (scripts/_bootstrap.py). Extra arguments go to
``kernel run``; the exit code is the kernel's.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts._bootstrap import main  # after the line above: the project root is on the path

if __name__ == "__main__":
    sys.exit(main("", ["-m", "kernel.console._entry", "run"], sys.argv[1:]))
