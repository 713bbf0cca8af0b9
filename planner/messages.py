"""The planner's messages: verdicts in, market context in, trade plans out.

Each is a frozen Struct in the system's tagged union (``tag_field="type"``,
inherited from :class:`bus.protocol.Message`) and is published on its own
topic, so a subscriber filters by prefix (``verdict.`` sees all three verdicts).
Fields carry bounds, so an external agent's verdict that decodes is in range;
unknown fields are ignored so that newer agents can talk to an older kernel.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, TypeAlias

import msgspec

from bus.protocol import Message, Price, Symbol, Text, Timestamp
from planner.contracts import OptionChain, OptionsBlock
from planner.parts import (
    SEVERITY_RANK,
    AssetClass,
    Bar,
    ChaseCheck,
    Confidence,
    Decision,
    Direction,
    Entry,
    Label,
    Level,
    MarketStatus,
    PatternState,
    PlanFlags,
    PositionPlan,
    Range,
    Regime,
    Risk,
    Severity,
    StopLoss,
    Style,
    Synthesis,
    Target,
    TimeStop,
    TradeDirection,
    VolatilityRegime,
)

_MAX_LEVELS = 64
_MAX_BARS = 100_000
Levels = Annotated[list[Level], msgspec.Meta(max_length=_MAX_LEVELS)]
Notes = Annotated[list[Text], msgspec.Meta(max_length=256)]
Closes = Annotated[list[Price], msgspec.Meta(max_length=_MAX_BARS)]
Change = Annotated[float, msgspec.Meta(gt=-1e6, lt=1e6)]


class TechnicalVerdict(Message, frozen=True, tag="technical_verdict"):
    """What price action says: direction, conviction, where to enter and why."""

    topic: ClassVar[str] = "verdict.technical"
    symbol: Symbol
    ts: Timestamp
    direction: Direction
    confidence: Confidence
    entry_type: Label = "none"
    """Entry vocabulary: ``buy_support``, ``breakout_retest`` (longs);
    ``short_resistance``, ``breakdown_retest``, ``rejection`` (shorts); ``none``."""
    supports: Levels = msgspec.field(default_factory=list)
    resistances: Levels = msgspec.field(default_factory=list)
    pattern_state: PatternState = "none"
    volatility_regime: VolatilityRegime = "normal"
    notes: Notes = msgspec.field(default_factory=list)
    source: Label = "builtin"


class MacroVerdict(Message, frozen=True, tag="macro_verdict"):
    """What the wider market says: regime, direction and how assets line up."""

    topic: ClassVar[str] = "verdict.macro"
    ts: Timestamp
    regime: Regime
    direction: Direction
    confidence: Confidence
    alignment: Confidence = 50.0
    """Share of the cross-asset evidence, in percent, that agrees with the regime."""
    economic_assessment: Text = ""
    notes: Notes = msgspec.field(default_factory=list)
    source: Label = "builtin"
    asset_class: AssetClass | None = None
    """The asset class the verdict is about (macro differs for stocks and crypto);
    None: every asset class."""


class WildCardVerdict(Message, frozen=True, tag="wildcard_verdict"):
    """What could blindside the trade: events, spikes, gaps, weekends."""

    topic: ClassVar[str] = "verdict.wildcard"
    symbol: Symbol
    ts: Timestamp
    risks: Annotated[list[Risk], msgspec.Meta(max_length=256)] = msgspec.field(
        default_factory=list)
    contingencies: Notes = msgspec.field(default_factory=list)
    timing: Notes = msgspec.field(default_factory=list)
    confidence: Confidence = 50.0
    source: Label = "builtin"

    @property
    def overall_risk(self) -> Severity:
        """The worst severity among the risks (``low`` when there are none)."""
        worst: Severity = "low"
        for risk in self.risks:
            if SEVERITY_RANK[risk.severity] > SEVERITY_RANK[worst]:
                worst = risk.severity
        return worst


class MarketSnapshot(Message, frozen=True, tag="market_snapshot"):
    """The market as the planner sees it at ``ts`` for one symbol."""

    topic: ClassVar[str] = "market.snapshot"
    symbol: Symbol
    ts: Timestamp
    asset_class: AssetClass
    price: Price
    hod: Price
    lod: Price
    atr_30d: Price
    """Average true range of the last 30 daily bars."""
    vwap: Price | None = None
    bars: Annotated[list[Bar], msgspec.Meta(max_length=_MAX_BARS)] = msgspec.field(
        default_factory=list)
    market_status: MarketStatus = "open"
    prev_close: Price | None = None


class CrossAssetSnapshot(Message, frozen=True, tag="cross_asset_snapshot"):
    """The inputs of the built-in Macro analysis; every part may be missing."""

    topic: ClassVar[str] = "market.cross_asset"
    ts: Timestamp
    index_symbol: Label = "SPY"
    index_closes: Closes = msgspec.field(default_factory=list)
    vix: Price | None = None
    vix_change_pct: Change | None = None
    dollar_change_pct: Change | None = None
    yield_change_bp: Change | None = None
    btc_closes: Closes = msgspec.field(default_factory=list)
    funding_rate: Change | None = None
    """Perpetual funding per 8 hours as a fraction (0.0001 is 0.01 %)."""
    source: Label = ""
    """Who measured it (``ccxt:binance+massive``); empty from older publishers."""
    as_of: Timestamp | None = None
    """The time of the oldest part's newest point: ``ts`` is when it was looked at."""
    stale: bool = False
    """Set by the publisher when ``as_of`` is too old; the Macro analysis then ignores it."""


class TradePlan(Message, frozen=True, tag="trade_plan"):
    """The complete answer to "what's the trade and how do we execute it?".

    A ``NO_TRADE`` plan has no entry, position, stop or targets, and lists its
    reasons in ``no_trade_reasons``. Plans are made only by ``planner.builder``,
    which checks that their own fields agree (``planner.validation``).
    """

    topic: ClassVar[str] = "plan.trade"
    symbol: Symbol
    ts: Timestamp
    style: Style
    asset_class: AssetClass
    decision: Decision
    direction: TradeDirection | None
    confidence: Confidence
    confidence_range: Range
    confidence_explanation: Text
    synthesis: Synthesis | None = None
    entry: Entry | None = None
    position: PositionPlan | None = None
    stop_loss: StopLoss | None = None
    targets: list[Target] = msgspec.field(default_factory=list)
    time_stop: TimeStop | None = None
    target_warning: Text | None = None
    chase: ChaseCheck | None = None
    warnings: Notes = msgspec.field(default_factory=list)
    flags: PlanFlags = PlanFlags()
    no_trade_reasons: Notes = msgspec.field(default_factory=list)
    request_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    """Set when the plan answers a ``plan_request`` over the bot link."""
    options: OptionsBlock | None = None
    """OPTIONS plans: the contract, why it was chosen, and how many (planner/options.py)."""


Verdict: TypeAlias = TechnicalVerdict | MacroVerdict | WildCardVerdict
PlannerMessage: TypeAlias = (
    TechnicalVerdict | MacroVerdict | WildCardVerdict | MarketSnapshot
    | CrossAssetSnapshot | TradePlan | OptionChain
)
"""The planner's part of the system's tagged union (``OptionChain`` is defined with
the other option types in ``planner/contracts.py``)."""


def plan_schema() -> dict[str, object]:
    """JSON Schema of a trade plan, for ``kernel plan --schema`` and for users."""
    return msgspec.json.schema(TradePlan)
