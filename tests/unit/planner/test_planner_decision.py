"""The seed's TRADE / NO TRADE rules, each one alone and through ``build_plan``."""

from __future__ import annotations

import msgspec
import pytest

from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.parts import Direction, Risk
from planner.synthesis import decide_trade
from tests.unit.planner.planner_factories import CONFIG, NOW, account, macro, snap, tech, wild

CFG = CONFIG.synthesis


def decide(t_dir: Direction, t_conf: float, m_dir: Direction, m_conf: float, **kw: object) -> str:
    options: dict[str, object] = {"market_status": "open", "critical_error": None, **kw}
    return decide_trade(tech(t_dir, t_conf), macro(m_dir, m_conf), cfg=CFG,
                        **options).decision  # type: ignore[arg-type]


# --- TRADE when ---------------------------------------------------------------


@pytest.mark.parametrize("direction", ["LONG", "SHORT"])
def test_trade_when_both_agents_agree(direction: Direction) -> None:
    assert decide(direction, 30, direction, 30) == "TRADE"


@pytest.mark.parametrize(("t_dir", "t_conf", "m_dir", "m_conf"), [
    ("LONG", 51, "NEUTRAL", 90),
    ("SHORT", 75, "NEUTRAL", 10),
    ("NEUTRAL", 10, "LONG", 51),
    ("NEUTRAL", 60, "SHORT", 90),
])
def test_trade_when_one_agent_is_directional_above_50(
    t_dir: Direction, t_conf: float, m_dir: Direction, m_conf: float
) -> None:
    assert decide(t_dir, t_conf, m_dir, m_conf) == "TRADE"


@pytest.mark.parametrize(("t_dir", "m_dir"), [("LONG", "SHORT"), ("SHORT", "LONG")])
def test_trade_when_both_have_any_directional_opinion(t_dir: Direction, m_dir: Direction) -> None:
    assert decide(t_dir, 5, m_dir, 5) == "TRADE"


# --- NO TRADE only when -------------------------------------------------------


def test_no_trade_when_both_neutral_below_40_each() -> None:
    assert decide("NEUTRAL", 39, "NEUTRAL", 10) == "NO_TRADE"


def test_no_trade_when_market_is_completely_closed() -> None:
    result = decide_trade(tech(), macro(), market_status="closed", critical_error=None, cfg=CFG)
    assert result.decision == "NO_TRADE"
    assert result.reasons == ("Market is completely closed",)


def test_no_trade_on_critical_system_error() -> None:
    result = decide_trade(tech(), macro(), market_status="open",
                          critical_error="journal unavailable", cfg=CFG)
    assert result.decision == "NO_TRADE"
    assert result.reasons == ("Critical system error: journal unavailable",)


def test_every_no_trade_rule_that_holds_is_a_reason() -> None:
    result = decide_trade(tech("NEUTRAL", 10), macro("NEUTRAL", 10), market_status="closed",
                          critical_error="bus down", cfg=CFG)
    assert len(result.reasons) == 3


def test_extended_hours_are_not_completely_closed() -> None:
    """Choice: extended hours trade, with a liquidity warning."""
    plan = build_plan(tech(), macro(), wild(), snap(status="extended"), account(), "DAY", NOW,
                      CONFIG)
    assert plan.decision == "TRADE"
    assert any("Extended-hours" in w for w in plan.warnings)


# --- through the builder ------------------------------------------------------


def test_market_closed_plan_has_no_position_and_says_why() -> None:
    plan = build_plan(tech(), macro(), wild(), snap(status="closed"), account(), "DAY", NOW,
                      CONFIG)
    assert plan.decision == "NO_TRADE"
    assert plan.position is None and plan.entry is None and plan.direction is None
    assert plan.no_trade_reasons == ["Market is completely closed"]
    assert plan.confidence_explanation.startswith("No trade: Market is completely closed")


def test_critical_error_from_the_caller_is_no_trade() -> None:
    plan = build_plan(tech(), macro(), wild(), snap(), account(), "DAY", NOW, CONFIG,
                      critical_error="risk engine not running")
    assert plan.decision == "NO_TRADE"
    assert "Critical system error: risk engine not running" in plan.no_trade_reasons


# --- low confidence sizes, it does not decide ----------------------------------------


def test_conflict_at_low_confidence_trades_a_quarter() -> None:
    """Probe: Technical LONG 15 against Macro SHORT 30 risk_off was NO TRADE at "5% ... below
    the 10% minimum". The seed trades when both have any directional opinion."""
    plan = build_plan(tech("LONG", 15), macro("SHORT", 30, regime="risk_off"), wild(), snap(),
                      account(), "DAY", NOW, CONFIG)
    assert (plan.decision, plan.direction, plan.confidence) == ("TRADE", "LONG", 5)  # 15 − 10
    assert plan.position is not None and plan.position.size == "quarter"
    assert "it does not refuse the trade" in plan.position.size_reason
    assert plan.no_trade_reasons == []


def test_a_wild_card_warning_stays_a_warning() -> None:
    """Probe: Technical LONG 12, Macro NEUTRAL 20, a medium Wild Card risk was NO TRADE with
    "Wild Card risk is medium: confidence -5" among its reasons."""
    gap = Risk(kind="gap", description="Opening gap 0.6x ATR", severity="medium")
    plan = build_plan(tech("LONG", 12), macro("NEUTRAL", 20), wild(gap), snap(), account(),
                      "DAY", NOW, CONFIG)
    assert (plan.decision, plan.direction, plan.confidence) == ("TRADE", "LONG", 7)
    assert "Wild Card risk is medium: confidence -5" in plan.warnings
    assert plan.no_trade_reasons == []
    assert plan.position is not None and plan.position.size == "quarter"


def test_a_directional_call_at_zero_trades_at_the_one_percent_floor() -> None:
    """A SHORT at 20% against risk_on macro ends at 5% after −15; at 8 against a conflict, 0:
    a TRADE's confidence is at least 1%, never a NO TRADE."""
    short = build_plan(tech("SHORT", 20), macro("NEUTRAL", 10, regime="risk_on"), wild(),
                       snap(vwap=None), account(), "DAY", NOW, CONFIG)
    assert (short.decision, short.confidence) == ("TRADE", 5)
    floor = build_plan(tech("LONG", 8), macro("SHORT", 90), wild(), snap(), account(), "DAY",
                       NOW, CONFIG)
    assert (floor.decision, floor.confidence, floor.confidence_range.low) == ("TRADE", 1, 1)


def test_the_old_minimum_setting_is_refused_by_name() -> None:
    """``synthesis.min_trade_confidence`` is gone: a file that still sets it is told so."""
    raw = msgspec.to_builtins(CONFIG)
    raw["synthesis"]["min_trade_confidence"] = 10
    with pytest.raises(msgspec.ValidationError, match="min_trade_confidence"):
        msgspec.convert(raw, PlannerConfig)
