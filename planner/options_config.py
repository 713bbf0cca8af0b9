"""Every threshold of the options selector, as the typed shape of ``config/options.yaml``.

The defaults are the shipped values (a test keeps the YAML equal to them) and
unknown keys are refused, as for ``planner.yaml``: a misspelt threshold must
fail loudly rather than silently keep a default. docs/options.md explains each.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from planner.parts import Style

Days = Annotated[int, msgspec.Meta(ge=0, le=3660)]
DeltaBand = Annotated[
    list[Annotated[float, msgspec.Meta(ge=0, le=1)]], msgspec.Meta(min_length=2, max_length=2)
]
DteRange = Annotated[list[Days], msgspec.Meta(min_length=2, max_length=2)]
Pct = Annotated[float, msgspec.Meta(ge=0, le=1000)]
Count = Annotated[float, msgspec.Meta(ge=0, le=1e12)]
Weight = Annotated[float, msgspec.Meta(ge=0, le=100)]


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every options config section: unknown keys are refused."""


class DteWindows(_Config, frozen=True):
    """Days to expiry by trade style, inclusive; SCALP takes its nearest expiry in range."""

    SCALP: DteRange = msgspec.field(default_factory=lambda: [0, 7])
    DAY: DteRange = msgspec.field(default_factory=lambda: [3, 7])
    SWING: DteRange = msgspec.field(default_factory=lambda: [8, 30])
    INVESTMENT: DteRange = msgspec.field(default_factory=lambda: [30, 60])

    def of(self, style: Style) -> tuple[int, int]:
        pair = {"SCALP": self.SCALP, "DAY": self.DAY, "SWING": self.SWING,
                "INVESTMENT": self.INVESTMENT}[style]
        return pair[0], pair[1]


class PhaseConfig(_Config, frozen=True):
    """One search phase: the delta band, liquidity floors and the widest spread it accepts."""

    delta: DeltaBand
    """Accepted |delta|; a contract without greeks passes only the fallback phase."""
    min_volume: Count
    min_open_interest: Count
    max_spread_pct: Pct
    """Widest bid/ask spread, in percent of the mid."""


class FallbackConfig(_Config, frozen=True):
    """The last phase: valid pricing is enough, greeks may be missing, extremes still out."""

    max_spread_pct: Pct = 35.0
    max_moneyness_pct: Pct = 5.0
    """A contract without delta must have its strike within this percent of the stock price."""
    assumed_delta: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    """|delta| used for the premium stop when greeks are missing: 1.0 bounds the loss."""


class PhasesConfig(_Config, frozen=True):
    primary: PhaseConfig = PhaseConfig(delta=[0.40, 0.60], min_volume=100,
                                       min_open_interest=500, max_spread_pct=10.0)
    expanded: PhaseConfig = PhaseConfig(delta=[0.25, 0.75], min_volume=10,
                                        min_open_interest=100, max_spread_pct=20.0)
    fallback: FallbackConfig = FallbackConfig()


class RankingConfig(_Config, frozen=True):
    """Score weights in the seed's priority order (price is a gate: it must fit the budget)."""

    target_delta: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.50
    volume: Weight = 4.0
    theta: Weight = 3.0
    delta: Weight = 2.0
    open_interest: Weight = 1.0


class SizingConfig(_Config, frozen=True):
    max_premium_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 20.0
    """Premium paid may not exceed this percent of the account: a gap through the stop
    can cost the whole premium, and this caps that worst case."""
    max_open_interest_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 10.0
    """Contracts bought may not exceed this percent of the open interest."""


class StopsConfig(_Config, frozen=True):
    min_gap_atr: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.25
    """The stock stop keeps at least this many 30-day ATR from the entry zone."""
    theta_buffer_days: dict[Style, Days] = msgspec.field(
        default_factory=lambda: {"SWING": 2})
    """Days of theta taken off the premium stop, so time decay alone does not trigger it."""


class CautionConfig(_Config, frozen=True):
    wide_spread_pct: Pct = 10.0
    """A caution note when the chosen contract's spread is wider than this percent."""
    underlying_drift_pct: Pct = 1.0
    """A caution note when the chain's underlying price is this far from the snapshot's."""


class LiveOptionsConfig(_Config, frozen=True):
    """How the options selector actor works inside ``kernel run``."""

    symbols: list[str] = []
    """Underlyings whose live plans get an options block; empty: every one with a chain."""
    chain_max_age_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 120.0
    """A chain older than this (by its own ``ts``) is not used."""


class OptionsConfig(_Config, frozen=True):
    """The whole of ``config/options.yaml``."""

    daily_expiry_symbols: list[str] = msgspec.field(
        default_factory=lambda: ["SPY", "QQQ", "IWM"])
    """Index ETFs that list an expiry every trading day; other underlyings are single
    stocks, whose true same-day expiries come on Fridays."""
    expiry_close_hour: Annotated[float, msgspec.Meta(ge=0, lt=24)] = 16.0
    """New York hour at which a contract expiring today stops trading."""
    dte: DteWindows = DteWindows()
    phases: PhasesConfig = PhasesConfig()
    ranking: RankingConfig = RankingConfig()
    sizing: SizingConfig = SizingConfig()
    stops: StopsConfig = StopsConfig()
    caution: CautionConfig = CautionConfig()
    live: LiveOptionsConfig = LiveOptionsConfig()
