"""The built-in Wild Card analysis: what could blindside the trade.

Four sources, each a small function returning risks: scheduled events from the
calendar inside the style's horizon (one severity step worse when imminent),
a volatility spike in the last bar, a day's range already wide against the
30-day ATR, an opening gap, and weekends (gap risk for stocks held over one,
thin liquidity for crypto). Contingencies and timing notes go with the events.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from planner.config import WildCardConfig
from planner.events import CalendarEvent, EventCalendar
from planner.indicators import true_ranges
from planner.messages import MarketSnapshot, WildCardVerdict
from planner.parts import SEVERITY_RANK, Risk, Severity, Style
from planner.sessions import is_weekend, session_day

_BY_RANK: dict[int, Severity] = {rank: name for name, rank in SEVERITY_RANK.items()}
_SPIKE_HISTORY = 10
_DAY = 86_400.0


class Found(msgspec.Struct, frozen=True, kw_only=True):
    risks: list[Risk] = []
    contingencies: list[str] = []
    timing: list[str] = []


def _worse(severity: Severity) -> Severity:
    return _BY_RANK[min(3, SEVERITY_RANK[severity] + 1)]


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _in(seconds: float) -> str:
    hours, minutes = divmod(int(seconds // 60), 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def event_severity(event: CalendarEvent, until: float, cfg: WildCardConfig) -> Severity:
    base = event.severity or cfg.kind_severity.get(event.kind, cfg.default_severity)
    return _worse(base) if until <= cfg.imminent_minutes * 60 else base


def event_risks(
    calendar: EventCalendar, snapshot: MarketSnapshot, style: Style, now: float,
    cfg: WildCardConfig,
) -> Found:
    """Events within the style's horizon, with what to do about each."""
    horizon = cfg.horizon_hours.of(style) * 3600
    found = Found()
    for event in calendar.between(now, now + horizon, snapshot.symbol, snapshot.asset_class):
        until = event.ts - now
        severity = event_severity(event, until, cfg)
        found.risks.append(Risk(kind=event.kind, severity=severity, at=event.ts,
                                description=f"{event.name} in {_in(until)}"))
        found.timing.append(f"{event.name} at {_when(event.ts)} (in {_in(until)})")
        found.contingencies.append(
            f"Be flat or tighten the stop before {event.name} at {_when(event.ts)}"
            if SEVERITY_RANK[severity] >= SEVERITY_RANK["high"]
            else f"Expect a volatility burst around {event.name} at {_when(event.ts)}")
    return found


def spike_risk(snapshot: MarketSnapshot, cfg: WildCardConfig) -> list[Risk]:
    """The last bar's true range against the mean of the bars before it."""
    ranges = true_ranges(snapshot.bars)
    if len(ranges) < _SPIKE_HISTORY + 1:
        return []
    mean = sum(ranges[:-1]) / (len(ranges) - 1)
    if mean <= 0 or ranges[-1] < cfg.spike_tr_multiple * mean:
        return []
    return [Risk(kind="volatility_spike", severity="high",
                 description=f"Volatility spike: the last bar's range is "
                             f"{ranges[-1] / mean:.1f}× the average")]


def range_risk(snapshot: MarketSnapshot, cfg: WildCardConfig) -> list[Risk]:
    """A day that has already moved more than ``day_range_atr`` ATR."""
    ratio = (snapshot.hod - snapshot.lod) / snapshot.atr_30d
    if ratio < cfg.day_range_atr:
        return []
    return [Risk(kind="range_expansion", severity="medium",
                 description=f"Range expansion: today's range is {ratio:.1f}× the 30-day ATR")]


def gap_risk(snapshot: MarketSnapshot, cfg: WildCardConfig) -> list[Risk]:
    """The session's first open against the previous close, in ATR."""
    if snapshot.prev_close is None or not snapshot.bars:
        return []
    day = session_day(snapshot.bars[-1].ts, snapshot.asset_class)
    today = [bar for bar in snapshot.bars if session_day(bar.ts, snapshot.asset_class) == day]
    gap = (today[0].open - snapshot.prev_close) / snapshot.atr_30d
    if abs(gap) < cfg.gap_atr_medium:
        return []
    severity: Severity = "high" if abs(gap) >= cfg.gap_atr_high else "medium"
    side = "up" if gap > 0 else "down"
    return [Risk(kind="gap", severity=severity,
                 description=f"Gap {side} of {abs(gap):.1f}× ATR at the open: fills are common")]


def weekend_risk(
    snapshot: MarketSnapshot, style: Style, now: float, cfg: WildCardConfig
) -> list[Risk]:
    """Stocks held over a weekend can gap; crypto weekends are thin."""
    horizon = cfg.horizon_hours.of(style) * 3600
    days = [now + k * _DAY for k in range(int(horizon // _DAY) + 1)] + [now + horizon]
    crosses = any(is_weekend(ts, snapshot.asset_class) for ts in days)
    if snapshot.asset_class == "crypto":
        if is_weekend(now, "crypto") or crosses:
            return [Risk(kind="weekend", severity="low",
                         description="Weekend: thinner crypto liquidity and sharper wicks")]
        return []
    if style in ("SWING", "INVESTMENT") and crosses:
        return [Risk(kind="weekend", severity="medium",
                     description="Held over a weekend: gap risk at Monday's open")]
    return []


def analyze_wildcard(
    snapshot: MarketSnapshot, style: Style, calendar: EventCalendar | None, now: float,
    cfg: WildCardConfig,
) -> WildCardVerdict:
    """All sources together; the confidence says whether a current calendar was read."""
    events = event_risks(calendar, snapshot, style, now, cfg) if calendar else Found()
    risks = [*events.risks, *spike_risk(snapshot, cfg), *range_risk(snapshot, cfg),
             *gap_risk(snapshot, cfg), *weekend_risk(snapshot, style, now, cfg)]
    horizon_end = now + cfg.horizon_hours.of(style) * 3600
    current = calendar is not None and calendar.covers(horizon_end)
    confidence = cfg.confidence_with_calendar if current else cfg.confidence_without_calendar
    timing = list(events.timing)
    if not current:
        timing.append("No current event calendar: scheduled events may be missing")
    return WildCardVerdict(symbol=snapshot.symbol, ts=now, risks=risks,
                           contingencies=events.contingencies, timing=timing,
                           confidence=confidence)
