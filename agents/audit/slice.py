"""What the auditor is given: its config file, the trading day's boundary, its folders.

Cut from the settings by the composition root (``kernel/registry.py``), with the
folders already resolved against the project root. Kept apart from
:mod:`agents.audit.config`, which stays pure (no paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.audit.config import AuditConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSlice:
    audit: AuditConfig
    """``config/audit.yaml``."""
    timezone: str
    """``risk.yaml`` ``timezone``: a trading day ends at the same midnight as the loss limit."""
    utc_offset_s: int
    reports_dir: Path
    """Where the daily reports go (``paths.yaml``)."""
    archive_dir: Path
    """Where retention archives old rows (``audit.yaml``, else ``<data_dir>/archive``)."""
