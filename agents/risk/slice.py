"""What the risk engine is given: the limits of ``config/risk.yaml`` (and the shadow
limits of ``config/risk.shadow.yaml``, when there are any), and nothing else.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from risk import RiskLimits

if TYPE_CHECKING:
    from agents.risk.fleet import FleetGate


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSlice:
    limits: RiskLimits
    """``config/risk.yaml`` (in a fleet, with this bot's overrides applied)."""
    bot_id: str = ""
    """In a fleet, the one bot whose ledger this engine keeps; "": the one bot."""
    fleet: FleetGate | None = None
    """In a fleet, the gate every bot's engine joins (agents/risk/fleet.py)."""
    shadow: RiskLimits | None = None
    """``config/risk.shadow.yaml`` when it exists: judged beside ``limits``, never
    deciding (``agents.risk.shadow``)."""
