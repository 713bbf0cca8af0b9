"""How the planner runs live inside ``kernel run``: the ``live:`` section of planner.yaml.

The planning math never reads these; the verdict adapters and the planner actor
do. They live beside the thresholds so that one file says everything about how
plans are made: which style and account, how long an external agent's verdict
counts, and when market data is too old to plan on.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from planner.parts import Style

Seconds = Annotated[float, msgspec.Meta(gt=0, le=30 * 86_400)]


class _Live(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of the live sections: unknown keys are refused, like every config."""


class VerdictAges(_Live, frozen=True):
    """How long an external verdict takes precedence over the built-in one, by agent."""

    technical: Seconds = 300.0
    macro: Seconds = 3600.0
    wildcard: Seconds = 900.0

    def of(self, kind: str) -> float:
        return {"technical": self.technical, "macro": self.macro,
                "wildcard": self.wildcard}[kind]


class LiveConfig(_Live, frozen=True):
    style: Style = "SCALP"
    """The style of the plans made live (a ``plan_request`` may ask for another)."""
    account_size: Annotated[float, msgspec.Meta(gt=0, lt=1e15)] | None = None
    """Dollars (USDT) to size plans for; None: the bot's equity from its latest heartbeat."""
    symbols: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] = []
    """Symbols to plan for; empty: every symbol the bot sends bars for."""
    debounce_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.25
    """Inputs that change together (a bar, its verdicts) make one plan, this long after."""
    bar_history: Annotated[int, msgspec.Meta(ge=50, le=100_000)] = 500
    """Bars kept per symbol for the built-in Technical analysis."""
    external_max_age_s: VerdictAges = VerdictAges()
    cross_asset_max_age_s: Seconds = 3600.0
    """Older cross-asset data is ignored by the built-in Macro analysis."""
    snapshot_max_age_s: Seconds = 300.0
    """A plan on an older market snapshot is NO TRADE (stale market data)."""
    max_clock_skew_s: Seconds = 5.0
    """A verdict stamped further than this in the future is refused."""
