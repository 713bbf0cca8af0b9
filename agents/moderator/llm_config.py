"""The shape of ``config/llm.yaml`` and ``config/moderator.yaml``.

Two files because they answer different people: ``llm.yaml`` is about the
endpoint and what it may cost (model, timeouts, a daily token budget), while
``moderator.yaml`` is about what the duty officer watches and how far it may
go (triggers, bounds, the offline rules). Neither holds the API key: it comes
only from ``ANTHROPIC_API_KEY`` in the environment, so a config file can be
shared, committed or journaled without leaking it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=10_080)]
Factor = Annotated[float, msgspec.Meta(ge=0, le=10)]


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: unknown keys are refused (a typo is an error, not a silent default)."""


class PlannerLlmConfig(_Config, frozen=True):
    """The planner's LLM refinement (seed 004, sections 7-8); off unless asked for."""

    enabled: bool = False
    level_tolerance_atr: Annotated[float, msgspec.Meta(gt=0, le=2)] = 0.1
    """A number the LLM returns must lie this close (in 30-day ATR) to a level in the data."""
    max_candidates: Annotated[int, msgspec.Meta(ge=0, le=50)] = 5
    """How many option contracts from the chain are shown to the LLM."""


class LlmConfig(_Config, frozen=True):
    """One endpoint for the whole project, and what it may cost per day."""

    enabled: bool = True
    """Use the API when ``ANTHROPIC_API_KEY`` is set; false keeps everything offline."""
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = "claude-sonnet-4-6"
    max_tokens: Annotated[int, msgspec.Meta(ge=16, le=64_000)] = 1024
    timeout_s: Seconds = 30.0
    """Per HTTP attempt."""
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    """Retries of a rate-limited, overloaded or failed attempt (the SDK's own backoff)."""
    deadline_s: Seconds = 90.0
    """Bound on one call with all its retries: a long ``retry-after`` cannot stall us."""
    base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")] | None = None
    """None: the SDK's default endpoint."""
    daily_token_budget: Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)] = 300_000
    """Input plus output tokens per UTC day; a call that could pass it is not made."""
    planner: PlannerLlmConfig = PlannerLlmConfig()


class Triggers(_Config, frozen=True):
    """Events that call a moderation at once instead of waiting for ``interval_s``."""

    on_halt: bool = True
    daily_loss_fraction: Fraction = 0.5
    """Daily loss reaching this share of its limit (0: off)."""
    loss_streak: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 3
    """This many losing round trips in a row (0: off)."""


class Bounds(_Config, frozen=True):
    """How far an answer may move things; anything outside is refused, not clipped."""

    min_multiplier: Factor = 0.25
    """The risk multiplier never goes below this (nor below risk.yaml's own minimum)."""
    reduce_factor: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.5
    """REDUCE_RISK without a value multiplies the current multiplier by this."""
    max_pause_minutes: Minutes = 240
    default_pause_minutes: Minutes = 30


class OfflineRules(_Config, frozen=True):
    """The rule-based moderator used without a key, past the budget, or when the API fails."""

    reduce_at_loss_streak: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    streak_loss_fraction: Fraction = 0.25
    """A loss streak is evidence only when its trades together lost at least this share
    of ``max_daily_loss``: three small losses at the start of a session are not."""
    reduce_at_limit_fraction: Fraction = 0.5
    """Daily loss or drawdown at this share of its limit: REDUCE_RISK."""
    pause_at_limit_fraction: Fraction = 0.8
    """Daily loss or drawdown at this share of its limit: PAUSE."""
    paper_at_anomalies: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 5
    """This many warnings or worse within ``anomaly_window_s`` in demo mode: SWITCH_TO_PAPER."""


class ModeratorConfig(_Config, frozen=True):
    """What the risk moderator looks at, how often, and what it may do."""

    interval_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 900.0
    """Ask this often (0: only on triggers and ``kernel moderator ask``)."""
    min_gap_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 60.0
    """Least time between two trigger-driven moderations (a burst of triggers is one ask)."""
    apply: bool = True
    """False: journal the advice and what would be done, change nothing."""
    last_trades: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50
    anomaly_window_s: Seconds = 900.0
    triggers: Triggers = Triggers()
    bounds: Bounds = Bounds()
    offline: OfflineRules = OfflineRules()
