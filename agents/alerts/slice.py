"""What the alerts feature is given: ``config/alerts.yaml`` and where it came from.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.alerts.config import AlertsConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsSlice:
    alerts: AlertsConfig
    """``config/alerts.yaml``."""
    config_path: Path
    """The file, named in errors."""
    bots: tuple[str, ...] = ()
    """``paths.yaml`` ``bots:``, the fleet's ids: a chat's command names one of them or
    is the portfolio's (docs/fleet.md). Empty: the one-bot shorthand."""
