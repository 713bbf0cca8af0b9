"""What the verdict adapters are given: the planner's config, and the Wild Card the calendar.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.config import PlannerConfig
from planner.events import EventCalendar


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictSlice:
    planner: PlannerConfig
    """``config/planner.yaml``: the analyses' settings and the live freshness rules."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WildCardSlice(VerdictSlice):
    events: EventCalendar
    """``config/events.yaml``."""
