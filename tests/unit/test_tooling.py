"""The linters are part of the suite: ruff and mypy over the packages, scripts and tests.

So a change that breaks the house style or a type fails CI like any other test,
not only on the machine of someone who remembered to run them. The settings are
in pyproject.toml (mypy strict for the packages and scripts, lighter for tests).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run("mypy", "--cache-dir", ".mypy_cache/linux")  # its own: the runs may overlap
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_for_windows() -> None:
    """The user runs Windows: no POSIX-only call without a Windows path type-checks."""
    result = run("mypy", "--platform", "win32", "--cache-dir", ".mypy_cache/win32")
    assert result.returncode == 0, result.stdout + result.stderr
