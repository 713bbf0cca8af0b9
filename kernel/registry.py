"""Which actors ``kernel run`` hosts, in start order.

The composition root for actors: each later capability (watchdog, risk engine,
auditor, planner, ...) adds its factory here. ``actors:`` in kernel.yaml can
disable any of them by name.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.risk_engine import RiskEngine
from agents.watchdog import Watchdog
from kernel.actor import Actor
from kernel.settings import Settings


def default_actors(settings: Settings) -> list[Callable[[], Actor]]:
    """Factories for every actor shipped with the kernel (fresh instance per call)."""
    return [RiskEngine, Watchdog]  # the gate is up before the watchdog starts the bot
