"""What the moderator is given: its two config files and the few values it needs besides.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.moderator.llm_config import LlmConfig, ModeratorConfig
from bus.protocol import Mode


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeratorSlice:
    moderator: ModeratorConfig
    """``config/moderator.yaml``."""
    llm: LlmConfig
    """``config/llm.yaml``."""
    mode: Mode
    """The kernel's mode at start (``kernel.yaml``); later changes come as messages."""
    min_risk_multiplier: float
    """``risk.yaml`` ``risk_multiplier.min``: no advice goes below it."""
    config_dir: Path | None = None
    """Where ``risk.yaml`` is, for the replay a REDUCE_RISK carries (None: no replay)."""
    utc_offset_s: int = 0
    """``risk.yaml``'s day boundary: "today" for that replay."""
