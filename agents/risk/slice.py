"""What the risk engine is given: the limits of ``config/risk.yaml``, and nothing else.

Cut from the settings by the composition root (``kernel/registry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from risk import RiskLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSlice:
    limits: RiskLimits
    """``config/risk.yaml``."""
