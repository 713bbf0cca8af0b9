"""Every threshold of the planner, as the typed shape of ``config/planner.yaml``.

The defaults here are the shipped values, so a missing file section means the
documented behaviour and a test keeps the YAML and these defaults equal. Unknown
keys are refused (``forbid_unknown_fields``): a typo in a threshold must fail
loudly rather than silently keep a default. Loading the file is the kernel's
job (``kernel.config.load_yaml``); this module never touches the disk.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from planner.live import LiveConfig
from planner.parts import Severity, Style, TimeStopKind, VolatilityRegime

Pct = Annotated[float, msgspec.Meta(gt=0, le=100)]
Points = Annotated[float, msgspec.Meta(ge=0, le=100)]
AtrMultiple = Annotated[float, msgspec.Meta(ge=0, le=100)]
PositiveAtr = Annotated[float, msgspec.Meta(gt=0, le=100)]
Step = Annotated[float, msgspec.Meta(gt=0, le=1e6)]
Pair = Annotated[
    list[Annotated[float, msgspec.Meta(ge=0)]], msgspec.Meta(min_length=2, max_length=2)
]
Count = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Weight = Annotated[float, msgspec.Meta(ge=0, le=100)]
PositiveHours = Annotated[float, msgspec.Meta(gt=0, le=100_000)]


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every planner config section: unknown keys are refused."""


class RiskConfig(_Config, frozen=True):
    risk_pct: Pct = 1.0
    """Share of the account a full position may lose at its stop."""
    max_notional_pct: Annotated[float, msgspec.Meta(gt=0, le=10_000)] = 100.0
    """Buying power: no position may cost more than this share of the account (100: no
    leverage). Each style's ``notional_cap_pct`` is usually the tighter bound."""
    full_size_confidence: Points = 70.0
    half_size_confidence: Points = 50.0
    """Below this confidence a position is a quarter of the full size."""
    crypto_qty_step: Step = 0.0001
    crypto_qty_steps: dict[str, Step] = msgspec.field(
        default_factory=lambda: {"BTCUSDT": 0.00001})
    """Per-symbol overrides of the coin quantity step, e.g. ``BTCUSDT: 0.00001``."""


class SeverityPoints(_Config, frozen=True):
    low: Points = 0.0
    medium: Points = 5.0
    high: Points = 10.0
    critical: Points = 20.0

    def of(self, severity: Severity) -> float:
        return {"low": self.low, "medium": self.medium, "high": self.high,
                "critical": self.critical}[severity]


class SynthesisConfig(_Config, frozen=True):
    agreement_bonus: Points = 10.0
    conflict_penalty: Points = 10.0
    neutral_no_trade_below: Points = 40.0
    single_agent_trade_above: Points = 50.0
    macro_only_cap: Points = 60.0
    confidence_cap: Annotated[float, msgspec.Meta(ge=1, le=100)] = 95.0
    vwap_against_penalty: Points = 5.0
    vwap_band_atr: AtrMultiple = 0.02
    """Price within this many ATR of VWAP gives no VWAP bias."""
    wildcard_penalty: SeverityPoints = SeverityPoints()
    """Confidence points taken off for the Wild Card's worst risk."""
    strong_conviction: Points = 80.0
    """The explanation's words: "strong" from here (the seed calls 75 % moderate)."""
    moderate_conviction: Points = 50.0

    def __post_init__(self) -> None:
        if self.moderate_conviction > self.strong_conviction:
            raise ValueError(
                "expected moderate_conviction <= strong_conviction, found moderate_conviction "
                f"{self.moderate_conviction:g} and strong_conviction {self.strong_conviction:g} "
                "(lower moderate_conviction or raise strong_conviction)")


class ShortSafetyConfig(_Config, frozen=True):
    risk_on_penalty: Points = 15.0
    cap_without_bearish_macro: Points = 80.0
    short_entry_types: list[str] = msgspec.field(default_factory=lambda: [
        "short_resistance", "rejection", "breakdown", "breakdown_retest",
        "failed_breakout", "lower_high", "rally_short",
    ])
    """The vocabulary of short entries; any other entry type on a SHORT is flagged."""
    vocabulary_mismatch_penalty: Points = 10.0
    """Points off a SHORT whose Technical entry type is not short vocabulary (its entry is
    then described in short words, its LONG word's mirror where there is one)."""
    anticipatory_size_steps: Annotated[int, msgspec.Meta(ge=0, le=2)] = 1
    """An anticipatory SHORT (pattern not yet broken) is sized this many tiers smaller
    (full → half → quarter; a quarter stays a quarter)."""


class StyleConfig(_Config, frozen=True, kw_only=True):
    """One trade style's frame, every distance in multiples of the 30-day ATR."""

    entry_reach_atr: PositiveAtr
    """How far below price (LONG) a support may be and still anchor the entry."""
    entry_width_atr: PositiveAtr
    stop_buffer_atr: PositiveAtr
    """How far beyond the structure level the stop sits."""
    min_stop_atr: AtrMultiple
    """The stop's near edge must be at least this far from the entry zone's middle; a level
    whose stop would be nearer is passed over."""
    max_stop_atr: PositiveAtr
    """A stop whose near edge is further than this from the entry zone's middle flags the
    plan (another style or NO TRADE)."""
    default_stop_atr: PositiveAtr
    """Stop distance when no structure lies beyond the entry."""
    tp1_atr: PositiveAtr
    tp2_atr: PositiveAtr
    """Target distances used when no resistance (LONG) or support (SHORT) is found."""
    target_band_atr: PositiveAtr
    min_reward_risk: AtrMultiple = 1.0
    """A level nearer than this many times the risk is not taken as TP1."""
    tp1_exit_fraction: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.5
    target_warning_atr: PositiveAtr
    """The seed's ATR target warning: TP1 further than this adds ``target_warning``."""
    reach_half_life_atr: PositiveAtr
    """TP2's chance is TP1's (the confidence range), halved over this distance beyond TP1."""
    time_stop_kind: TimeStopKind
    time_stop_range: Pair | None = None
    crypto_time_stop_hours: Pair | None = None
    session_stop_levels: bool = True
    """Whether today's low (LONG) / high (SHORT) may anchor the stop. The seed anchors
    SWING stops to daily structure, so SWING and INVESTMENT use the Technical levels only."""
    notional_cap_pct: Annotated[float, msgspec.Meta(gt=0, le=10_000)] = 25.0
    """One plan's position may cost at most this percent of the account; the plan says
    when this, rather than the risk budget, set its size."""

    def __post_init__(self) -> None:
        if self.max_stop_atr < self.min_stop_atr:
            raise ValueError(
                "expected max_stop_atr >= min_stop_atr, found max_stop_atr "
                f"{self.max_stop_atr:g} and min_stop_atr {self.min_stop_atr:g} (raise "
                "max_stop_atr or lower min_stop_atr)")


class StylesConfig(_Config, frozen=True):
    SCALP: StyleConfig = StyleConfig(
        entry_reach_atr=0.25, entry_width_atr=0.05, stop_buffer_atr=0.05, min_stop_atr=0.1,
        max_stop_atr=0.5, default_stop_atr=0.25, tp1_atr=0.3, tp2_atr=0.5,
        target_band_atr=0.03, target_warning_atr=0.5, reach_half_life_atr=1.0,
        time_stop_kind="minutes", time_stop_range=[15, 30], crypto_time_stop_hours=None,
    )
    DAY: StyleConfig = StyleConfig(
        entry_reach_atr=0.5, entry_width_atr=0.1, stop_buffer_atr=0.1, min_stop_atr=0.2,
        max_stop_atr=1.0, default_stop_atr=0.5, tp1_atr=0.7, tp2_atr=1.2,
        target_band_atr=0.05, target_warning_atr=1.0, reach_half_life_atr=2.0,
        time_stop_kind="market_close", time_stop_range=None, crypto_time_stop_hours=[8, 12],
    )
    SWING: StyleConfig = StyleConfig(
        entry_reach_atr=1.0, entry_width_atr=0.2, stop_buffer_atr=0.2, min_stop_atr=0.5,
        max_stop_atr=2.5, default_stop_atr=1.25, tp1_atr=1.5, tp2_atr=3.0,
        target_band_atr=0.1, target_warning_atr=2.0, reach_half_life_atr=4.0,
        time_stop_kind="days", time_stop_range=[3, 5], crypto_time_stop_hours=[72, 120],
        session_stop_levels=False,
    )
    INVESTMENT: StyleConfig = StyleConfig(
        entry_reach_atr=2.0, entry_width_atr=0.4, stop_buffer_atr=0.4, min_stop_atr=1.0,
        max_stop_atr=6.0, default_stop_atr=3.0, tp1_atr=4.0, tp2_atr=8.0,
        target_band_atr=0.25, target_warning_atr=5.0, reach_half_life_atr=10.0,
        time_stop_kind="none", time_stop_range=None, crypto_time_stop_hours=None,
        session_stop_levels=False,
    )


class ChaseConfig(_Config, frozen=True):
    zone_atr_pct: Pct = 10.0
    """The chase zone spans this percent of the 30-day ATR from HOD (LONG) / LOD (SHORT)."""
    pullback_bars: Count = 2
    lookback_bars: Count = 5
    on_block: Literal["wait", "no_trade"] = "wait"
    """``wait``: keep the plan but enter only on a pullback; ``no_trade``: refuse it."""


class VolatilityConfig(_Config, frozen=True):
    """Stop buffers widen with the Technical verdict's volatility regime."""

    low: PositiveAtr = 0.8
    normal: PositiveAtr = 1.0
    high: PositiveAtr = 1.5
    extreme: PositiveAtr = 2.0

    def multiplier(self, regime: VolatilityRegime) -> float:
        return {"low": self.low, "normal": self.normal, "high": self.high,
                "extreme": self.extreme}[regime]


class TechnicalConfig(_Config, frozen=True):
    fast_ma: Count = 20
    slow_ma: Count = 50
    slope_lookback: Count = 5
    momentum_lookback: Count = 10
    momentum_full_atr: PositiveAtr = 1.5
    atr_period: Count = 14
    swing_window: Count = 3
    level_merge_atr: AtrMultiple = 0.25
    max_levels: Count = 4
    near_level_atr: AtrMultiple = 0.5
    vol_low: PositiveAtr = 0.7
    vol_high: PositiveAtr = 1.5
    vol_extreme: PositiveAtr = 2.5
    max_confidence: Points = 90.0


class MacroWeights(_Config, frozen=True):
    """Weight of each cross-asset component; missing data drops out of the sum."""

    index: Weight = 0.0
    vix: Weight = 0.0
    dollar: Weight = 0.0
    yields: Weight = 0.0
    btc: Weight = 0.0
    funding: Weight = 0.0


class MacroConfig(_Config, frozen=True):
    fast_ma: Count = 20
    slow_ma: Count = 50
    stock_weights: MacroWeights = MacroWeights(index=0.4, vix=0.3, dollar=0.15, yields=0.15)
    crypto_weights: MacroWeights = MacroWeights(
        btc=0.5, index=0.2, vix=0.1, dollar=0.1, funding=0.1)
    vix_calm: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    vix_stress: Annotated[float, msgspec.Meta(gt=0)] = 25.0
    vix_change_full_pct: PositiveAtr = 10.0
    dollar_full_pct: PositiveAtr = 0.5
    yield_full_bp: PositiveAtr = 10.0
    funding_extreme: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.0005
    regime_threshold: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.25
    max_confidence: Points = 90.0


class StyleHours(_Config, frozen=True):
    SCALP: PositiveHours = 2.0
    DAY: PositiveHours = 24.0
    SWING: PositiveHours = 120.0
    INVESTMENT: PositiveHours = 720.0

    def of(self, style: Style) -> float:
        return {"SCALP": self.SCALP, "DAY": self.DAY, "SWING": self.SWING,
                "INVESTMENT": self.INVESTMENT}[style]


class WildCardConfig(_Config, frozen=True):
    horizon_hours: StyleHours = StyleHours()
    """How far ahead events matter, by trade style."""
    imminent_minutes: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """An event this close is one severity step worse."""
    kind_severity: dict[str, Severity] = msgspec.field(default_factory=lambda: {
        "FOMC": "high", "CPI": "high", "NFP": "high", "PCE": "medium",
        "earnings": "high", "GDP": "medium", "options_expiry": "medium",
    })
    """Severity of a calendar event by its kind, when the entry does not give one."""
    default_severity: Severity = "medium"
    spike_tr_multiple: PositiveAtr = 3.0
    day_range_atr: PositiveAtr = 1.5
    gap_atr_medium: PositiveAtr = 0.5
    gap_atr_high: PositiveAtr = 1.0
    confidence_with_calendar: Points = 80.0
    confidence_without_calendar: Points = 50.0


class PlannerConfig(_Config, frozen=True):
    """The whole of ``config/planner.yaml``."""

    risk: RiskConfig = RiskConfig()
    synthesis: SynthesisConfig = SynthesisConfig()
    short_safety: ShortSafetyConfig = ShortSafetyConfig()
    styles: StylesConfig = StylesConfig()
    chase: ChaseConfig = ChaseConfig()
    volatility: VolatilityConfig = VolatilityConfig()
    technical: TechnicalConfig = TechnicalConfig()
    macro: MacroConfig = MacroConfig()
    wildcard: WildCardConfig = WildCardConfig()
    live: LiveConfig = LiveConfig()
    """How the actors plan inside ``kernel run`` (planner/live.py)."""

    def style(self, name: Style) -> StyleConfig:
        """The frame of one style by its name (``SCALP`` … ``INVESTMENT``)."""
        styles = self.styles
        frames = {"SCALP": styles.SCALP, "DAY": styles.DAY, "SWING": styles.SWING,
                  "INVESTMENT": styles.INVESTMENT}
        return frames[name]
