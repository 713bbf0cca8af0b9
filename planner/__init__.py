"""Pure planning: from agent verdicts and a market snapshot to a complete trade plan.

Nothing here performs I/O or reads a clock: time is passed in as ``now`` and
configuration as a decoded :class:`~planner.config.PlannerConfig`. Actors in
``agents/`` turn bus messages into calls of these functions.
"""

from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.macro import analyze_macro
from planner.messages import (
    CrossAssetSnapshot,
    MacroVerdict,
    MarketSnapshot,
    PlannerMessage,
    TechnicalVerdict,
    TradePlan,
    WildCardVerdict,
    plan_schema,
)
from planner.parts import Account, Bar, Level
from planner.snapshot import AnalysisError, make_snapshot
from planner.technical import analyze_technical
from planner.wildcard import analyze_wildcard

__all__ = [
    "Account",
    "AnalysisError",
    "Bar",
    "CrossAssetSnapshot",
    "EventCalendar",
    "Level",
    "MacroVerdict",
    "MarketSnapshot",
    "PlannerConfig",
    "PlannerMessage",
    "TechnicalVerdict",
    "TradePlan",
    "WildCardVerdict",
    "analyze_macro",
    "analyze_technical",
    "analyze_wildcard",
    "build_plan",
    "make_snapshot",
    "plan_schema",
]
