"""What the watchdog is given: its config file and the few kernel values it needs.

Cut from the settings by the composition root (``kernel/registry.py``), with every
path already resolved against the project root, so the actor never sees the whole
configuration and a test can build it from exactly these fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agents.watchdog.config import WatchdogConfig
from bus.protocol import Mode


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogSlice:
    watchdog: WatchdogConfig
    """``config/watchdog.yaml``."""
    mode: Mode
    """The mode the bot starts in (``kernel.yaml``); later changes come as messages."""
    gateway_endpoint: str
    """The bot link's endpoint as bound (``kernel.yaml``); the bot is told where to connect."""
    bot_command: tuple[str, ...]
    """``paths.yaml`` ``bot.command``, with its ``{python}`` placeholder."""
    bot_cwd: Path
    bot_env: Mapping[str, str]
    data_dir: Path | None = None
    """``paths.yaml`` ``data_dir``, given to the bot as ``QUANTUMEDGE_DATA_DIR`` (where the
    reference bot keeps its paper account)."""
    pid_file: Path
    """Where the running bot is recorded (``<data_dir>/bot.pid``)."""
    log_dir: Path
    """Where the bot's output is kept."""
    shutdown_timeout_s: float
    """The kernel's bound on stopping an actor (``kernel.yaml`` ``supervision``)."""
    bot_id: str = ""
    """In a fleet (``paths.yaml`` ``bots:``), the one bot this watchdog supervises: it is
    started with ``--bot-id=ID`` (and ``QUANTUMEDGE_BOT_ID``), and only that id's hello and
    heartbeats count. "": the one-bot shorthand, whatever id the bot says hello with."""
    external: bool = False
    """A fleet bot with no command: never started, only watched (docs/fleet.md)."""
