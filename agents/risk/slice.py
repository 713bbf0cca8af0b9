"""What the risk engine is given: the limits of ``config/risk.yaml`` (and the shadow
limits of ``config/risk.shadow.yaml``, when there are any), and nothing else.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from risk import RiskLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSlice:
    limits: RiskLimits
    """``config/risk.yaml``."""
    shadow: RiskLimits | None = None
    """``config/risk.shadow.yaml`` when it exists: judged beside ``limits``, never
    deciding (``agents.risk.shadow``)."""
