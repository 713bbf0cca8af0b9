"""Which actors ``kernel run`` hosts, in start order.

The composition root for actors: each later capability (watchdog, risk engine,
auditor, planner, ...) adds its factory here. ``actors:`` in kernel.yaml can
disable any of them by name.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.audit.actor import Auditor
from agents.meta.actor import MetaRunner
from agents.moderator.actor import Moderator
from agents.planner.actor import PlannerActor
from agents.planner.options_selector import OptionsSelector
from agents.risk.actor import RiskEngine
from agents.verdicts.macro import MacroAdapter
from agents.verdicts.technical import TechnicalAdapter
from agents.verdicts.wildcard import WildCardAdapter
from agents.watchdog.actor import Watchdog
from kernel._link_frames import LinkFrames
from kernel.actor import Actor
from kernel.settings import Settings
from planner.messages import MacroVerdict, TechnicalVerdict, WildCardVerdict

LINK_FRAMES = LinkFrames(types=(TechnicalVerdict, MacroVerdict, WildCardVerdict),
                         noun="verdict", code="invalid_verdict")
"""Frames a bot may send beyond the core contract: its own analysis, for the verdict
adapters (see ``kernel/_link_frames.py``)."""


def default_actors(settings: Settings) -> list[Callable[[], Actor]]:
    """Factories for every actor shipped with the kernel (fresh instance per call)."""
    # The gate is up before the watchdog starts the bot; the planner's consumers start
    # before its producers (the technical adapter makes the snapshots) so none is missed;
    # the moderator listens before the macro adapter and the watchdog speak, for the same reason.
    # The options selector answers the planner's plans, so it listens before the planner speaks.
    # The auditor listens before any other actor or the bot speaks, so its record is whole.
    # The Meta-Agent scheduler hears the watchdog's first report; it runs nothing within
    # meta.yaml's start_delay_s, and only off-market.
    return [RiskEngine, Auditor, OptionsSelector, PlannerActor, Moderator, MetaRunner,
            MacroAdapter, WildCardAdapter, TechnicalAdapter, Watchdog]
