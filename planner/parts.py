"""The building blocks that verdicts, snapshots and trade plans are made of.

They are plain (untagged) frozen Structs: only the top-level messages in
``planner/messages.py`` carry a ``type`` tag. Bounds sit on the fields so that a
decoded value is already a sane one (prices positive and finite, confidences in
0..100); values built in Python are checked again by ``planner/validation.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from bus.protocol import NonNegative, Price, Text, Timestamp

Confidence = Annotated[float, msgspec.Meta(ge=0, le=100)]
"""Percent, 0..100."""
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Volume = Annotated[float, msgspec.Meta(ge=0, lt=1e18)]
Label = Annotated[str, msgspec.Meta(max_length=256)]

Direction: TypeAlias = Literal["LONG", "SHORT", "NEUTRAL"]
TradeDirection: TypeAlias = Literal["LONG", "SHORT"]
Regime: TypeAlias = Literal["risk_on", "risk_off", "neutral"]
PatternState: TypeAlias = Literal["broken", "not_yet_broken", "none"]
VolatilityRegime: TypeAlias = Literal["low", "normal", "high", "extreme"]
Severity: TypeAlias = Literal["low", "medium", "high", "critical"]
AssetClass: TypeAlias = Literal["stock", "index_etf", "crypto"]
Style: TypeAlias = Literal["SCALP", "DAY", "SWING", "INVESTMENT"]
MarketStatus: TypeAlias = Literal["open", "extended", "closed"]
Decision: TypeAlias = Literal["TRADE", "NO_TRADE"]
SizeTier: TypeAlias = Literal["full", "half", "quarter"]
SizeLimit: TypeAlias = Literal["risk budget", "notional cap", "buying power", "premium cap",
                               "open interest"]
Unit: TypeAlias = Literal["shares", "coins", "contracts"]
Agreement: TypeAlias = Literal["agree", "conflict", "technical_only", "macro_only", "none"]
ChaseStatus: TypeAlias = Literal["CLEAR", "PULLBACK_OK", "BLOCK"]
Stance: TypeAlias = Literal["supports", "opposes", "neutral"]
TimeStopKind: TypeAlias = Literal["minutes", "hours", "market_close", "days", "none"]

SEVERITY_RANK: dict[Severity, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class Part(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the untagged parts; unknown fields are ignored (wire types)."""


class Bar(Part, frozen=True):
    """One OHLCV bar; ``ts`` is the bar's open time."""

    ts: Timestamp
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Volume = 0.0


class Level(Part, frozen=True):
    """A support or resistance price, with what made it (``label``)."""

    price: Price
    label: Label = ""
    strength: Percent = 50.0


class Range(Part, frozen=True):
    """A closed interval: the planner speaks in ranges, not single numbers."""

    low: float
    high: float

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


class Risk(Part, frozen=True):
    """One thing that could upset the trade, found by the Wild Card analysis."""

    kind: Label
    description: Text
    severity: Severity
    at: Timestamp | None = None


class Account(Part, frozen=True):
    """The money side of a plan request. ``risk_pct`` None: the configured one."""

    size: Price
    risk_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None


class AgentSupport(Part, frozen=True):
    """How one agent's verdict stands toward the planned trade."""

    agent: Literal["technical", "macro", "wildcard"]
    direction: Direction
    confidence: Confidence
    stance: Stance
    note: Text = ""


class Synthesis(Part, frozen=True):
    """What each agent said, whether they agreed, and how a conflict was settled."""

    technical: AgentSupport
    macro: AgentSupport
    agreement: Agreement
    resolution: Text
    wildcard_risk: Severity
    wildcard_summary: Text
    vwap_bias: Direction
    vwap_note: Text


class EntryZone(Part, frozen=True):
    low: float
    mid: float
    high: float
    confidence: Confidence
    """Estimated chance, in percent, that price trades into the zone."""


class Entry(Part, frozen=True):
    direction: TradeDirection
    trigger: Text
    strategy: Text
    zone: EntryZone
    waiting_instructions: list[Text] = []
    trigger_level: float | None = None
    """A price that must break before the entry (an anticipatory SHORT's breakdown level);
    the targets lie beyond it. None when the zone itself is the trigger."""


class PositionPlan(Part, frozen=True):
    size: SizeTier
    quantity: float
    unit: Unit
    total_cost: float
    """``quantity`` × ``entry_price`` (× shares per contract for options)."""
    max_risk: float
    risk_budget: float
    risk_pct: float
    stop_distance: float
    """Worst case per unit: ``entry_price`` to the far edge of the stop."""
    entry_price: float | None = None
    """The one price every figure here is computed from: the worst fill in the entry zone
    (its edge furthest from the stop); for options, the premium paid there."""
    size_limit: SizeLimit | None = None
    """What set ``quantity``: the risk budget, or a cap that bound before it."""
    size_reason: Text = ""
    """Why this tier (full / half / quarter) and, when a cap bound, which."""


class StopLoss(Part, frozen=True):
    price_range: Range
    rationale: Text
    total_loss: float
    level: float | None = None
    """The structure level the stop hides behind; None for an ATR-only stop."""
    stock_price_range: Range | None = None
    """OPTIONS only: the stock stop, the source of truth; ``price_range`` is then the
    premium stop computed from it (planner/options.py, "stock level is king")."""
    stop_auto_shifted: bool = False
    """OPTIONS only: the stock stop was moved away to keep its gap from the entry zone."""


class Target(Part, frozen=True):
    label: Label
    price_range: Range
    probability: Range
    """Chance of reaching the range, in percent (low, high)."""
    exit_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)]
    rationale: Text


class TimeStop(Part, frozen=True):
    kind: TimeStopKind
    text: Text
    min: float | None = None
    max: float | None = None
    deadline_ts: Timestamp | None = None
    """Latest moment to be out, when the rule gives one."""


class ChaseCheck(Part, frozen=True):
    """Layer 2 of the anti-chase defence: where the chase zones are and the verdict."""

    status: ChaseStatus
    direction: TradeDirection
    in_zone: bool
    long_zone: Range
    """Buying here chases the high: HOD minus the chase fraction of ATR, to HOD."""
    short_zone: Range
    """Shorting here chases the low: LOD to LOD plus the chase fraction of ATR."""
    distance_to_hod: NonNegative
    distance_to_lod: NonNegative
    opposite_bars: int
    reason: Text


class PlanFlags(Part, frozen=True):
    """Machine-readable flags beside the human warnings."""

    short_safety: list[Text] = []
    anticipatory_signal: bool = False
    entry_vocabulary_mismatch: bool = False
    short_confidence_capped: bool = False
    chase_blocked: bool = False
    structure_wider_than_style: bool = False
    suggested_style: Style | None = None
    suggestion: Text = ""
