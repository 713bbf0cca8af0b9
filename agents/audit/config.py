"""The auditor's settings (``config/audit.yaml``), typed and bounded.

Same rules as every config Struct (``kernel/config.py``): an unknown key is an
error, every number has bounds, so a threshold written in the wrong unit is
caught by ``kernel check`` rather than silencing an anomaly.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: a misspelt key is an error, not a silent default."""


class Burst(_Config, frozen=True):
    """``count`` events within ``window_s`` seconds make an anomaly."""

    count: Count
    window_s: Seconds


class AuditConfig(_Config, frozen=True):
    """Anomaly thresholds, retention, and the Meta-Agent task shape."""

    decision_latency_ms: Annotated[float, msgspec.Meta(gt=0, le=600_000)] = 250.0
    """From the bot's ``order_request`` ts to the decision leaving the kernel."""
    clock_skew_s: Seconds = 2.0
    """A request stamped this far in the future means the bot's clock is off."""
    decode_errors: Burst = Burst(count=5, window_s=60.0)
    """Frames the gateway could not decode, from any bot."""
    heartbeat_gap_s: Seconds = 3.0
    """Two heartbeats of one bot further apart than this."""
    stale_tick_s: Seconds = 10.0
    """A heartbeat whose last market tick is older than this (on the bot's clock)."""
    pnl_tolerance_usdt: Annotated[float, msgspec.Meta(ge=0, lt=1e15)] = 1.0
    """How far the bot's realised PnL may drift from the fills journaled."""
    pnl_grace_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 5.0
    """A disagreement must last this long: a fill and a heartbeat may cross."""
    denials: Burst = Burst(count=10, window_s=60.0)
    """Denied orders of one bot: it keeps asking at a closed gate."""
    restarts: Burst = Burst(count=3, window_s=600.0)
    """Restarts of the bot, or crashes of one actor."""
    repeat_s: Seconds = 60.0
    """An ongoing condition is reported again at most this often (with a count)."""
    retention_days: Annotated[int, msgspec.Meta(ge=0, le=36_500)] = 90
    """Journal rows older than this many days are archived, then deleted; 0 keeps all."""
    archive_dir: str = ""
    """Where archives go; empty: ``<data_dir>/archive``. Relative to the project root."""
    excerpt_rows: Annotated[int, msgspec.Meta(ge=5, le=10_000)] = 60
    """Journal rows quoted in a Meta-Agent task."""
    task_deadline_h: Annotated[float, msgspec.Meta(gt=0, le=720)] = 24.0
    """How long the Meta-Agent has to answer a task."""
