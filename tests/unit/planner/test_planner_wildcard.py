"""The built-in Wild Card analyzer: calendar events, spikes, gaps, weekends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from kernel.config import ConfigError, load_yaml
from planner.config import WildCardConfig
from planner.events import CalendarEvent, EventCalendar
from planner.messages import MarketSnapshot
from planner.parts import Bar
from planner.wildcard import analyze_wildcard, gap_risk, range_risk, spike_risk, weekend_risk
from tests.unit.planner.planner_factories import NOW, bar, green_bars
from tests.unit.planner.planner_factories import snap as any_snap

CFG = WildCardConfig()
HOUR = 3600.0
EVENTS_YAML = Path(__file__).parents[3] / "config" / "events.yaml"


def snap(**kw: object) -> MarketSnapshot:
    """A quiet day by default: a range of 1.25 ATR, no gap, no spike."""
    options: dict[str, object] = {"hod": 101.0, "lod": 98.5, **kw}
    return any_snap(**options)  # type: ignore[arg-type]


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def event(name: str, kind: str, ts: float, **kw: object) -> CalendarEvent:
    return CalendarEvent(name=name, kind=kind, at=at(ts), **kw)  # type: ignore[arg-type]


def calendar(*events: CalendarEvent, covers: float | None = None) -> EventCalendar:
    return EventCalendar(events=list(events), covers_until=at(covers) if covers else None)


def test_fomc_within_the_day_is_a_high_risk_with_contingency_and_timing() -> None:
    fomc = event("FOMC rate decision", "FOMC", NOW + 3 * HOUR)
    verdict = analyze_wildcard(snap(), "DAY", calendar(fomc), NOW, CFG)
    assert [(r.kind, r.severity) for r in verdict.risks] == [("FOMC", "high")]
    assert verdict.risks[0].description == "FOMC rate decision in 3h00m"
    assert verdict.contingencies == [
        "Be flat or tighten the stop before FOMC rate decision at 2026-02-04 18:00 UTC"]
    assert verdict.timing == ["FOMC rate decision at 2026-02-04 18:00 UTC (in 3h00m)"]
    assert verdict.overall_risk == "high"
    assert verdict.confidence == 80


def test_an_imminent_event_is_one_step_worse() -> None:
    cpi = event("US CPI", "CPI", NOW + 30 * 60)
    verdict = analyze_wildcard(snap(), "SCALP", calendar(cpi), NOW, CFG)
    assert verdict.risks[0].severity == "critical"
    assert verdict.risks[0].description == "US CPI in 30m"


def test_events_beyond_the_style_horizon_or_past_are_ignored() -> None:
    later = event("FOMC", "FOMC", NOW + 3 * HOUR)
    past = event("CPI", "CPI", NOW - HOUR)
    assert analyze_wildcard(snap(), "SCALP", calendar(later, past), NOW, CFG).risks == []


def test_symbol_and_asset_class_filters() -> None:
    earnings = event("NVDA earnings", "earnings", NOW + 5 * HOUR, symbols=["nvda"])
    opex = event("Options expiry", "options_expiry", NOW + 5 * HOUR,
                 asset_classes=["stock", "index_etf"])
    cal = calendar(earnings, opex)
    assert [r.kind for r in analyze_wildcard(snap(symbol="NVDA"), "DAY", cal, NOW, CFG).risks] \
        == ["earnings", "options_expiry"]
    assert [r.kind for r in analyze_wildcard(snap(), "DAY", cal, NOW, CFG).risks] \
        == ["options_expiry"]
    crypto = snap(symbol="BTCUSDT", asset_class="crypto")
    assert analyze_wildcard(crypto, "DAY", cal, NOW, CFG).risks == []


def test_event_severity_in_the_file_overrides_its_kind() -> None:
    speech = event("Chair speech", "speech", NOW + 5 * HOUR, severity="low")
    other = event("Auction", "auction", NOW + 6 * HOUR)
    risks = analyze_wildcard(snap(), "DAY", calendar(speech, other), NOW, CFG).risks
    assert [r.severity for r in risks] == ["low", "medium"]  # unknown kind: default medium


def test_volatility_spike_in_the_last_bar() -> None:
    bars = green_bars(12, step=0.1)
    last = bars[-1]
    spiked = [*bars[:-1], Bar(ts=last.ts, open=last.open, close=last.close,
                              high=last.high + 0.5, low=last.low - 0.5)]
    assert spike_risk(snap(bars=bars), CFG) == []
    risks = spike_risk(snap(bars=spiked), CFG)
    assert [(r.kind, r.severity) for r in risks] == [("volatility_spike", "high")]


def test_range_expansion_against_the_30_day_atr() -> None:
    assert range_risk(snap(), CFG) == []  # 1.25 ATR
    risks = range_risk(snap(hod=101.5, lod=98.0), CFG)  # 1.75 ATR
    assert risks[0].description == "Range expansion: today's range is 1.8× the 30-day ATR"


@pytest.mark.parametrize(("open_", "severity"), [(100.5, None), (101.5, "medium"),
                                                 (97.0, "high")])
def test_opening_gap_in_atr(open_: float, severity: str | None) -> None:
    bars = [bar(NOW - 600, open_, open_ + 0.1), bar(NOW - 540, open_ + 0.1, open_ + 0.2)]
    risks = gap_risk(snap(bars=bars, prev_close=100.0), CFG)
    assert [r.severity for r in risks] == ([severity] if severity else [])


def test_gap_needs_the_previous_close() -> None:
    assert gap_risk(snap(prev_close=None), CFG) == []


def test_weekends() -> None:
    thursday = datetime(2026, 2, 5, 15, tzinfo=UTC).timestamp()
    saturday = datetime(2026, 2, 7, 15, tzinfo=UTC).timestamp()
    assert weekend_risk(snap(), "SWING", thursday, CFG)[0].severity == "medium"
    assert weekend_risk(snap(), "DAY", thursday, CFG) == []
    crypto = snap(asset_class="crypto", symbol="BTCUSDT")
    assert weekend_risk(crypto, "SCALP", saturday, CFG)[0].severity == "low"
    assert weekend_risk(crypto, "SCALP", NOW, CFG) == []


def test_confidence_drops_without_a_current_calendar() -> None:
    assert analyze_wildcard(snap(), "DAY", None, NOW, CFG).confidence == 50
    stale = calendar(covers=NOW + HOUR)
    verdict = analyze_wildcard(snap(), "DAY", stale, NOW, CFG)
    assert verdict.confidence == 50
    assert "No current event calendar" in verdict.timing[-1]


def test_shipped_events_file_decodes() -> None:
    cal = load_yaml(EVENTS_YAML, EventCalendar)
    assert {e.kind for e in cal.events} >= {"FOMC", "CPI", "earnings"}
    assert all(e.at.tzinfo is not None for e in cal.events)


def test_event_time_without_zone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text("events:\n  - {name: CPI, kind: CPI, at: 2026-03-11T08:30:00}\n")
    with pytest.raises(ConfigError, match=r"events\[0\]\.at"):
        load_yaml(path, EventCalendar)


def test_unknown_event_key_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"events": [{"name": "x", "kind": "CPI", "at": "2026-01-01T00:00:00Z",
                                     "sevrity": "high"}]}, EventCalendar)
