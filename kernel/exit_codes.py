"""The exit codes of ``kernel run`` that other commands share (README.md lists them all).

A module of its own so that a short command (``kernel status``, ``kernel check``)
can name them without importing the kernel it only talks to.
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_CONFIG: Final = 2
EXIT_START_FAILED: Final = 3
EXIT_HALTED: Final = 4
