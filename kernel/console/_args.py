"""What every ``kernel`` sub-command shares: where the config is, and where errors go."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from kernel.config import default_config_dir

err = Console(stderr=True, highlight=False)
"""Errors and the console log go to stderr, so stdout stays the command's output."""


def config_dir(args: argparse.Namespace) -> Path:
    """``--config-dir``, else ``$SUPERVISOR_CONFIG_DIR``, else ``./config``."""
    return args.config_dir if args.config_dir is not None else default_config_dir()
