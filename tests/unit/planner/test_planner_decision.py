"""The seed's TRADE / NO TRADE rules, each one alone and through ``build_plan``."""

from __future__ import annotations

import pytest

from planner.builder import build_plan
from planner.parts import Direction
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


def test_confidence_driven_below_the_minimum_is_no_trade() -> None:
    """A SHORT at 20% against risk_on macro ends at 5% after −15: below the 10% floor."""
    plan = build_plan(tech("SHORT", 20), macro("NEUTRAL", 10, regime="risk_on"), wild(),
                      snap(vwap=None), account(), "DAY", NOW, CONFIG)
    assert plan.decision == "NO_TRADE"
    assert "below the 10% minimum" in plan.no_trade_reasons[0]
