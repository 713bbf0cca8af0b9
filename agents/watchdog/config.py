"""The watchdog's settings (``config/watchdog.yaml``), typed and bounded.

Same rules as every config Struct in ``kernel/config.py``: unknown keys are an
error rather than a silent default, and every number has bounds, so a typo or a
unit mistake (milliseconds written as seconds) is caught by ``kernel check``
before it can leave a hung bot trading.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kernel.config import PositiveSeconds

Seconds = Annotated[float, msgspec.Meta(ge=0, le=3600)]
"""A delay that may be zero (no backoff, no grace period)."""


class OutputLogConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How much of the bot's output is kept on disk (``<log_dir>/bot-*.log``).

    The log dir is often on the journal's disk, and a looping bot can print tens of
    megabytes a second: the disk used stays under ``max_file_mb * files_kept``, and
    what is not kept is said (docs/watchdog.md, "The bot's output").
    """

    max_file_mb: Annotated[float, msgspec.Meta(gt=0, le=100_000)] = 20.0
    """A file that reaches this size is closed and the next part begun."""
    files_kept: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10
    """The newest files kept, all days together; older ones are deleted."""
    max_kb_per_s: Annotated[float, msgspec.Meta(ge=0, le=10_000_000)] = 1024.0
    """At most this much output is written per second (one second of burst); lines
    beyond it are counted and not written. 0: no limit."""


class WatchdogConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the watchdog judges the bot's health and how it restarts or stops it."""

    heartbeat_timeout_s: PositiveSeconds = 5.0
    """No heartbeat for this long and the running bot is declared hung."""
    on_hang: Literal["restart", "halt"] = "restart"
    """``restart``: kill the hung bot and start it again (counts toward the limit);
    ``halt``: kill it, leave it down and halt trading."""
    start_timeout_s: PositiveSeconds = 15.0
    """A started bot must send its first heartbeat within this time."""
    stale_tick_s: PositiveSeconds = 5.0
    """A heartbeat whose last market tick is older than this flags a stale feed."""
    heartbeat_gap_s: PositiveSeconds = 2.5
    """Two heartbeats further apart than this flag a gap (an anomaly, not a hang)."""
    max_restarts: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 5
    """Crashes and hangs allowed within ``restart_window_s``; one more gives up."""
    restart_window_s: PositiveSeconds = 300.0
    backoff_initial_s: Seconds = 0.2
    """Delay before the first restart; doubled for each further one in the window."""
    backoff_max_s: Seconds = 30.0
    shutdown_grace_s: Seconds = 3.0
    """After the ``shutdown`` command, how long the bot may take to exit."""
    terminate_grace_s: Seconds = 2.0
    """After SIGTERM (Ctrl-Break on Windows), how long before the bot is killed."""
    state_interval_s: PositiveSeconds = 5.0
    """A ``bot.state`` summary is published this often, and on every change."""
    tail_lines: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 50
    """Lines of the bot's output kept in memory for the exit event."""
    output_log: OutputLogConfig = OutputLogConfig()
    """Bounds of the bot's output on disk."""

    def __post_init__(self) -> None:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError(f"backoff_initial_s ({self.backoff_initial_s:g}) must not exceed "
                             f"backoff_max_s ({self.backoff_max_s:g})")
