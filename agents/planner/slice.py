"""What the planner actor and the options selector are given.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.moderator.llm_config import LlmConfig
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.options_config import OptionsConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannerSlice:
    planner: PlannerConfig
    """``config/planner.yaml``."""
    events: EventCalendar
    """``config/events.yaml``."""
    llm: LlmConfig
    """``config/llm.yaml``: whether plans are refined, and with which model."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionsSlice:
    options: OptionsConfig
    """``config/options.yaml``."""
