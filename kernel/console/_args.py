"""What every ``kernel`` sub-command shares: where the config is, where errors go, who types."""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from kernel.config import default_config_dir

err = Console(stderr=True, highlight=False)
"""Errors and the console log go to stderr, so stdout stays the command's output."""


def config_dir(args: argparse.Namespace) -> Path:
    """``--config-dir``, else ``$SUPERVISOR_CONFIG_DIR``, else ``./config``."""
    return args.config_dir if args.config_dir is not None else default_config_dir()


UNKNOWN_OPERATOR = "unknown"


def operator_name(environ: Mapping[str, str] | None = None) -> str:
    """Who runs this command, for the journal: the login name, else the environment's, else
    ``"unknown"``. Never raises: a command is not refused for want of a name.

    ``getpass.getuser()`` fails where a Windows service or Task Scheduler runs without
    ``USERNAME``, and before Python 3.13 it fails there with ``ImportError`` (no ``pwd``
    module), which is neither of the errors it documents.
    """
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):
        name = ""
    env = os.environ if environ is None else environ
    for candidate in (name, env.get("USERNAME", ""), env.get("USER", "")):
        if candidate.strip():
            return candidate.strip()
    return UNKNOWN_OPERATOR
